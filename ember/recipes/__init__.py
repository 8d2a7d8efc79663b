"""The reference recipes: each a short readable module run by ``ember.recipes.trainer``."""
RECIPES = {
    "digits-mlp": "ember.recipes.digits_mlp",
    "linreg": "ember.recipes.linreg",
    "mnist-mlp": "ember.recipes.mnist_mlp",
    "mnist-cnn": "ember.recipes.mnist_cnn",
    "cifar-lenet": "ember.recipes.cifar_lenet",
    "text-lstm": "ember.recipes.text_lstm",
    "distill": "ember.recipes.distill",
    "transfer": "ember.recipes.transfer",
}
