"""Hostile but fair input against the command line: every case ends in its exit code and a one-line message
naming the option or the file, with no traceback, no input modified and nothing written outside --out."""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vtonlib import cli, imaging


def tree_hashes(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run(argv, capsys):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    return code, out, err


@pytest.fixture
def bad_pairs_root(sample_copy):
    """The sample with a test pairs file whose second line reaches outside the root."""
    pairs = sample_copy / "test_pairs.txt"
    lines = pairs.read_text().splitlines()
    lines[1] = "../../x.jpg " + lines[1].split()[1]
    pairs.write_text("\n".join(lines) + "\n")
    return sample_copy


@pytest.mark.parametrize("command", [
    ["tryon", "sample", "{root}", "--model", "{tmp}/no-model", "--out", "{tmp}/out", "--unpaired"],
    ["warp", "apply", "{root}", "--ckpt", "{tmp}/no-warp.safetensors", "--unpaired"],
])
def test_a_pairs_file_cannot_reach_outside_the_root(command, bad_pairs_root, tmp_path, capsys):
    before = tree_hashes(bad_pairs_root)
    argv = [a.format(root=bad_pairs_root, tmp=tmp_path) for a in command]
    code, _, err = run(argv, capsys)
    assert code == 2
    assert "test_pairs.txt" in err and "../../x" in err
    assert tree_hashes(bad_pairs_root) == before  # nothing read-modified, nothing written into the root
    assert not (tmp_path / "x__").exists() and not list(tmp_path.parent.glob("x__*"))


def test_dataset_ids_are_plain_names(sample_root):
    from vtonlib.data.reader import VitonDataset
    from vtonlib.fileio import DataError

    ds = VitonDataset(sample_root, "test")
    for bad in ("../x", "/etc/passwd", "a/b", ".."):
        with pytest.raises(DataError, match="not a plain file name"):
            ds.path("image", bad)


@pytest.mark.parametrize("argv,option", [
    (["tryon", "sample", "R", "--model", "M", "--out", "O", "--steps", "0"], "--steps"),
    (["tryon", "sample", "R", "--model", "M", "--out", "O", "--steps", "-1"], "--steps"),
    (["tryon", "sample", "R", "--model", "M", "--out", "O", "--batch-size", "0"], "--batch-size"),
    (["tryon", "sample", "R", "--model", "M", "--out", "O", "--strength", "1.5"], "--strength"),
    (["lora", "train", "R", "--model", "M", "--hand-masks", "H", "--out", "O", "--rank", "0"], "--rank"),
    (["correct", "R", "--data", "D", "--model", "M", "--out", "O", "--lora_scale", "nan"], "--lora_scale"),
    (["correct", "R", "--data", "D", "--model", "M", "--out", "O", "--steps", "0"], "--steps"),
    (["sample", "O", "--n", "0"], "--n"),
    (["warp", "train", "R", "--out", "O", "--steps", "0"], "--steps"),
])
def test_option_ranges_are_checked_with_the_options_name(argv, option, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and option in err and "Traceback" not in err


def test_sample_n_zero_writes_nothing(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["sample", str(tmp_path / "s"), "--n", "0"])
    assert not (tmp_path / "s").exists()


def test_an_output_folder_under_a_file_is_a_message(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    code, _, err = run(["sample", tmp_path / "file" / "sample", "--n", "2"], capsys)
    assert code == 2 and "is a file, not a folder" in err


def test_tryon_sample_checks_its_output_before_loading_the_model(sample_root, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    code, _, err = run(["tryon", "sample", sample_root, "--model", tmp_path / "no-model", "--out",
                        tmp_path / "file" / "out"], capsys)
    assert code == 2 and "is a file, not a folder" in err  # not "not a try-on model folder"


def test_export_kohya_never_overwrites_its_input(tmp_path, capsys):
    adapter = tmp_path / "hands.safetensors"
    adapter.write_bytes(b"not really an adapter")
    code, _, err = run(["lora", "export-kohya", adapter, adapter], capsys)
    assert code == 2 and "also an input" in err
    assert adapter.read_bytes() == b"not really an adapter"


def test_unexpected_errors_are_one_line_and_debug_shows_the_traceback(monkeypatch, capsys):
    def boom(args):
        raise RuntimeError("something inside broke")

    monkeypatch.setattr(cli, "_weights", boom)
    assert cli.main(["weights", "list"]) == 2
    err = capsys.readouterr().err
    assert "RuntimeError: something inside broke" in err and "Traceback" not in err and "--debug" in err
    assert cli.main(["--debug", "weights", "list"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_ctrl_c_says_what_was_done_and_how_to_resume(monkeypatch, capsys):
    from vtonlib.validate import Progress

    def interrupted(args):
        Progress.start(12)
        Progress.step(9)
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_weights", interrupted)
    assert cli.main(["weights", "list"]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "9 of 12 done" in err and "same command again" in err and "Traceback" not in err


def test_a_decompression_bomb_is_skipped_and_the_batch_goes_on(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("1", (20000, 20000)).save(photos / "bomb.png")
    imaging.write_image(photos / "fine.jpg", np.full((64, 48, 3), 128, np.uint8))
    before = tree_hashes(photos)
    code, out, _ = run(["hands", photos, "--method", "detector", "--out", tmp_path / "masks", "--quiet"], capsys)
    assert code == 0 and "bomb" in out and "pixels" in out
    assert (tmp_path / "masks" / "fine.png").exists() and not (tmp_path / "masks" / "bomb.png").exists()
    assert tree_hashes(photos) == before


def test_deeply_nested_keypoints_are_one_bad_file(sample_copy, tmp_path, capsys):
    person = sorted((sample_copy / "test" / "openpose_json").iterdir())[0]
    person.write_text("[" * 200000 + "]" * 200000)
    code, out, _ = run(["hands", sample_copy, "--split", "test", "--method", "keypoints", "--out", tmp_path / "m",
                        "--quiet"], capsys)
    assert code == 0 and person.name in out and "1 errors" in out


def test_a_batch_whose_every_item_failed_exits_non_zero(sample_copy, trained, tmp_path, capsys):
    shutil.rmtree(sample_copy / "test" / "gt" / "cloth-warp")  # no warped garments for any pair
    code, out, err = run(["tryon", "sample", sample_copy, "--model", trained[0], "--out", tmp_path / "out",
                          "--steps", "2", "--quiet"], capsys)
    assert code == 1 and "every" in (out + err)


def test_the_report_after_a_resume_lists_everything_on_disk(sample_root, trained, tmp_path):
    from vtonlib.tryon import sample_split

    out = tmp_path / "out"
    first = sample_split(sample_root, trained[0], out, num_inference_steps=2, progress=False)
    written = sorted(p.name for p in out.glob("*.png"))
    for name in written[:2]:  # as if the first run had been killed before these two
        (out / name).unlink()
    (out / "tryon.json").unlink()
    again = sample_split(sample_root, trained[0], out, num_inference_steps=2, progress=False)
    assert again["written_this_run"] == 2
    assert sorted(k for k, v in again["images"].items() if "error" not in v) == written
    assert len(first["images"]) == len(again["images"])
    assert json.loads((out / "tryon.json").read_text())["images"].keys() == again["images"].keys()


def test_photos_with_the_same_name_are_reported_not_dropped(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("person.jpg", "person.png", "person.JPEG"):
        imaging.write_image(photos / name, np.full((64, 48, 3), 100, np.uint8))
    code, out, _ = run(["hands", photos, "--method", "detector", "--out", tmp_path / "masks", "--quiet"], capsys)
    assert code == 0 and "person.png" in out and "person.jpg" in out and "rename one" in out
    report = json.loads((tmp_path / "masks" / "hands.json").read_text())
    assert report["counts"]["errors"] == 2 and (tmp_path / "masks" / "person.png").exists()


def test_a_truncated_unet_file_is_a_message_naming_it(sample_root, trained, tmp_path, capsys):
    model = tmp_path / "model"
    shutil.copytree(trained[0], model)
    weights = next((model / "unet").glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:1000])
    code, _, err = run(["tryon", "sample", sample_root, "--model", model, "--out", tmp_path / "out", "--quiet"],
                       capsys)
    assert code == 2 and "unet" in err and "cannot load" in err


def test_a_foreign_safetensors_as_checkpoint_is_named(sample_root, tmp_path, capsys):
    import torch
    from safetensors.torch import save_file

    foreign = tmp_path / "hands.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign), metadata={"note": "not json"})
    code, _, err = run(["warp", "apply", sample_root, "--ckpt", foreign, "--quiet"], capsys)
    assert code == 2 and str(foreign) in err and "not a model file written by this course" in err


def test_the_most_confident_person_of_a_keypoint_file_is_read(tmp_path):
    from vtonlib.data.pose import read_keypoints

    faint, clear = [[1.0, 2.0, 0.1] * 25], [[10.0, 20.0, 0.9] * 25]
    (tmp_path / "k.json").write_text(json.dumps({"people": [{"pose_keypoints_2d": faint[0]},
                                                           {"pose_keypoints_2d": clear[0]}]}))
    kp = read_keypoints(tmp_path / "k.json")
    assert kp.people == 2 and kp.body[0, 0] == 10.0


def test_evaluate_skips_results_that_name_no_person(sample_root, trained, tmp_path, capsys):
    from vtonlib.tryon import sample_split

    out = tmp_path / "results"
    sample_split(sample_root, trained[0], out, num_inference_steps=2, progress=False)
    shutil.copy(next(out.glob("*.png")), out / "stranger__nobody.png")
    code, text, _ = run(["evaluate", "--results", out, "--data", sample_root, "--out", tmp_path / "report",
                         "--no-detector", "--quiet"], capsys)
    assert code == 0 and "stranger__nobody.png" in text and "not scored" in text
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert "stranger__nobody.png" in report["skipped"] and report["images"] == len(list(out.glob("*.png"))) - 1


def test_hands_interrupted_then_resumed_keeps_finished_masks(sample_root, tmp_path, monkeypatch, capsys):
    from vtonlib.hands import batch

    real, calls = batch.for_person, []

    def stop_at_four(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "for_person", stop_at_four)
    out = tmp_path / "masks"
    argv = ["hands", sample_root, "--split", "test", "--method", "keypoints", "--out", out, "--quiet"]
    code, _, err = run(argv, capsys)
    assert code == 130 and "3 of" in err and "same command again" in err
    first = {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")}
    assert len(first) == 3
    monkeypatch.setattr(batch, "for_person", real)
    code, _, _ = run(argv, capsys)
    assert code == 0
    assert all(out.joinpath(n).stat().st_mtime_ns == t for n, t in first.items())  # not redone
    report = json.loads((out / "hands.json").read_text())
    assert set(report["images"]) == {p.stem for p in out.glob("*.png")} and len(report["images"]) > 3


def test_correct_with_every_hand_mask_missing_exits_non_zero(sample_root, trained, tmp_path, capsys):
    from vtonlib.tryon import sample_split

    results = tmp_path / "results"
    sample_split(sample_root, trained[0], results, num_inference_steps=2, progress=False)
    (tmp_path / "no-masks").mkdir()
    code, out, err = run(["correct", results, "--data", sample_root, "--model", trained[0], "--no-lora",
                          "--out", tmp_path / "corrected", "--hand-mask-dir", tmp_path / "no-masks", "--quiet"],
                         capsys)
    assert code == 1 and "hand mask missing" in out and "every result failed" in err


def _interrupt_on(monkeypatch, module, name, call):
    """Make module.name raise KeyboardInterrupt on its ``call``-th call (as a Ctrl-C would, mid-batch)."""
    real, calls = getattr(module, name), []

    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return real


def _mtimes(folder, pattern="*.png"):
    return {p.name: p.stat().st_mtime_ns for p in folder.glob(pattern)}


def test_warp_apply_interrupted_then_resumed(sample_copy, tmp_path, monkeypatch, capsys):
    from vtonlib.checkpoint import save_model
    from vtonlib.warp import apply as warp_apply
    from vtonlib.warp.model import AFWM, WarpConfig

    config = WarpConfig.tiny()
    save_model(tmp_path / "warp.safetensors", AFWM(config).state_dict(), config.to_dict())
    real = _interrupt_on(monkeypatch, warp_apply, "warp_full_resolution", 3)
    argv = ["warp", "apply", sample_copy, "--ckpt", tmp_path / "warp.safetensors", "--quiet"]
    code, _, err = run(argv, capsys)
    assert code == 130 and "2 of" in err
    folder = sample_copy / "test" / "cloth-warp"
    first = _mtimes(folder, "*.jpg")
    assert len(first) == 2
    monkeypatch.setattr(warp_apply, "warp_full_resolution", real)
    assert run(argv, capsys)[0] == 0
    assert all((folder / n).stat().st_mtime_ns == t for n, t in first.items())
    report = json.loads((folder / "warp.json").read_text())
    assert set(report["images"]) == {p.stem for p in folder.glob("*.jpg")} and len(report["images"]) > 2


def test_tryon_sample_interrupted_then_resumed(sample_root, trained, tmp_path, monkeypatch, capsys):
    from vtonlib.tryon import sample as tryon_sample

    real = _interrupt_on(monkeypatch, tryon_sample, "try_on", 2)
    out = tmp_path / "out"
    argv = ["tryon", "sample", sample_root, "--model", trained[0], "--out", out, "--steps", "2", "--batch-size", "2",
            "--quiet"]
    code, _, err = run(argv, capsys)
    assert code == 130 and "2 of" in err
    first = _mtimes(out)
    assert len(first) == 2
    monkeypatch.setattr(tryon_sample, "try_on", real)
    assert run(argv, capsys)[0] == 0
    assert all((out / n).stat().st_mtime_ns == t for n, t in first.items())
    report = json.loads((out / "tryon.json").read_text())
    assert set(report["images"]) == set(_mtimes(out)) and len(report["images"]) > 2


def test_correct_interrupted_then_resumed(sample_root, trained, tmp_path, monkeypatch):
    from vtonlib.correct import CorrectionConfig, batch, correct_results
    from vtonlib.tryon import sample_split

    results = tmp_path / "results"
    sample_split(sample_root, trained[0], results, num_inference_steps=2, progress=False)
    real = _interrupt_on(monkeypatch, batch, "correct_many", 3)
    out = tmp_path / "corrected"
    kwargs = dict(hand_mask_dir=sample_root / "test" / "gt" / "hand-mask", config=CorrectionConfig(steps=2),
                  progress=False, batch_size=1)
    with pytest.raises(KeyboardInterrupt):
        correct_results(results, sample_root, trained[0], out, **kwargs)
    first = _mtimes(out)
    assert len(first) == 2  # one result per batch: the two batches before the interruption
    monkeypatch.setattr(batch, "correct_many", real)
    report = correct_results(results, sample_root, trained[0], out, **kwargs)
    assert all((out / n).stat().st_mtime_ns == t for n, t in first.items())
    assert report["written_this_run"] == len(_mtimes(results)) - 2
    assert set(report["images"]) == set(_mtimes(out)) == set(_mtimes(results))


def test_a_report_cannot_lead_correct_outside_its_folders(sample_root, trained, tmp_path):
    from vtonlib.correct.batch import result_pairs
    from vtonlib.tryon import sample_split

    results = tmp_path / "results"
    sample_split(sample_root, trained[0], results, num_inference_steps=2, progress=False)
    report = json.loads((results / "tryon.json").read_text())
    report["images"]["../../escape.png"] = {"person": "../../../x", "cloth": "y"}
    (results / "tryon.json").write_text(json.dumps(report))
    pairs = result_pairs(results)
    assert "../../escape.png" not in pairs and pairs and all("/" not in n for n in pairs)


def test_check_json_into_an_unwritable_place_is_a_message(sample_root, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    code, _, err = run(["check", sample_root, "--quick", "--json", tmp_path / "file" / "report.json", "--quiet"],
                       capsys)
    assert code == 2 and "is a file, not a folder" in err


def test_make_sample_refuses_zero_people_before_writing(tmp_path):
    from vtonlib.data.sample import make_sample

    with pytest.raises(ValueError, match="n >= 1"):
        make_sample(tmp_path / "s", n=0, progress=False)
    assert not (tmp_path / "s").exists()
