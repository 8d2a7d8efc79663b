from ember.cli.main import main


def test_train_runs_and_reports_accuracy(capsys):
    assert main(["train", "--epochs", "2", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "epoch   2" in out
    acc = float([l for l in out.splitlines() if l.startswith("test accuracy:")][-1].split(":")[1])
    assert acc > 0.8


def test_info_lists_versions(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "ember 0.1.0" in out and "numpy" in out and "backend numpy" in out
