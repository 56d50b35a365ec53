"""The appearance-flow warping module: correlation, shapes, the released key names, training, applying."""

import torch
import pytest

from vtonlib.checkpoint import load_model
from vtonlib.data import VitonDataset
from vtonlib.fileio import DataError
from vtonlib.warp import (AFWM, TrainConfig, WarpConfig, WarpPairs, apply_warp, baseline_predictor, box_warp,
                          correlation, load_warp_model, score_warps, train_warp)
from vtonlib.warp.losses import warp_loss


def reference_correlation(first, second, d=3):
    """The definition, one position and one displacement at a time."""
    b, c, h, w = first.shape
    out = torch.zeros(b, (2 * d + 1) ** 2, h, w)
    for dy in range(-d, d + 1):
        for dx in range(-d, d + 1):
            k = (dy + d) * (2 * d + 1) + (dx + d)
            for y in range(h):
                for x in range(w):
                    if 0 <= y + dy < h and 0 <= x + dx < w:
                        out[:, k, y, x] = (first[:, :, y, x] * second[:, :, y + dy, x + dx]).sum(1) / c
    return out


@pytest.mark.parametrize("method", ["shift", "unfold"])
def test_correlation_equals_the_definition(method):
    g = torch.Generator().manual_seed(0)
    first, second = torch.randn(2, 5, 6, 7, generator=g), torch.randn(2, 5, 6, 7, generator=g)
    torch.testing.assert_close(correlation(first, second, method=method), reference_correlation(first, second))
    with pytest.raises(ValueError, match="equal shapes"):
        correlation(first, second[:, :4], method=method)


def test_correlation_gradients_agree():
    g = torch.Generator().manual_seed(1)
    grads = []
    for method in ("shift", "unfold"):
        a = torch.randn(1, 4, 5, 5, generator=torch.Generator().manual_seed(2), requires_grad=True)
        b = torch.randn(1, 4, 5, 5, generator=torch.Generator().manual_seed(3), requires_grad=True)
        weights = torch.randn(1, 49, 5, 5, generator=g.manual_seed(4))
        (correlation(a, b, method=method) * weights).sum().backward()
        grads.append((a.grad, b.grad))
    torch.testing.assert_close(grads[0][0], grads[1][0])
    torch.testing.assert_close(grads[0][1], grads[1][1])


@pytest.mark.parametrize("config,size", [(WarpConfig.tiny(), (256, 192)), (WarpConfig.full(), (64, 64))])
def test_shapes(config, size):
    model = AFWM(config).eval()
    h, w = size
    with torch.no_grad():
        out = model(torch.randn(2, 16, h, w), torch.randn(2, 3, h, w), torch.ones(2, 1, h, w))
    assert out.warped_cloth.shape == (2, 3, h, w) and out.flow.shape == (2, 2, h, w)
    assert out.warped_mask.shape == (2, 1, h, w)
    assert [x.shape[-2:] for x in out.levels_cloth] == [(h // 16, w // 16), (h // 8, w // 8), (h // 4, w // 4),
                                                         (h // 2, w // 2), (h, w)]
    with pytest.raises(ValueError, match="multiples of 32"):
        model(torch.randn(1, 16, 48, 48), torch.randn(1, 3, 48, 48))
    with pytest.raises(ValueError, match="16 channels"):
        model(torch.randn(1, 13, 64, 64), torch.randn(1, 3, 64, 64))


def released_parameters():
    """(name, shape) of every tensor in PF-AFN's AFWM as DCI-VTON trains it (input 3 + 13 channels),
    written out from the released architecture, independently of vtonlib's classes."""
    chns, fpn = [64, 128, 256, 256, 256], 256
    params = []

    def bn(prefix, c):
        params.extend([(f"{prefix}.weight", (c,)), (f"{prefix}.bias", (c,)), (f"{prefix}.running_mean", (c,)),
                       (f"{prefix}.running_var", (c,)), (f"{prefix}.num_batches_tracked", ())])

    for enc, cin in (("image_features", 3), ("cond_features", 16)):
        for i, c in enumerate(chns):
            prev = cin if i == 0 else chns[i - 1]
            bn(f"{enc}.encoders.{i}.0.block.0", prev)
            params.append((f"{enc}.encoders.{i}.0.block.2.weight", (c, prev, 3, 3)))
            for r in (1, 2):
                bn(f"{enc}.encoders.{i}.{r}.block.0", c)
                params.append((f"{enc}.encoders.{i}.{r}.block.2.weight", (c, c, 3, 3)))
                bn(f"{enc}.encoders.{i}.{r}.block.3", c)
                params.append((f"{enc}.encoders.{i}.{r}.block.5.weight", (c, c, 3, 3)))
    for fpn_name in ("image_FPN", "cond_FPN"):
        for i, c in enumerate(reversed(chns)):
            params += [(f"{fpn_name}.adaptive.{i}.weight", (fpn, c, 1, 1)), (f"{fpn_name}.adaptive.{i}.bias", (fpn,))]
            params += [(f"{fpn_name}.smooth.{i}.weight", (fpn, fpn, 3, 3)), (f"{fpn_name}.smooth.{i}.bias", (fpn,))]
    for net, cin in (("netMain", 49), ("netRefine", 2 * fpn)):
        for i in range(5):
            for j, (o, n) in enumerate(((128, cin), (64, 128), (32, 64), (2, 32))):
                name = f"aflow_net.{net}.{i}.{2 * j}"
                params += [(f"{name}.weight", (o, n, 3, 3)), (f"{name}.bias", (o,))]
    params.append(("aflow_net.weight", (4, 1, 3, 3)))
    return params


def test_released_state_dict_loads_strictly(tmp_path):
    g = torch.Generator().manual_seed(0)
    released = {name: (torch.randint(0, 9, shape, generator=g) if name.endswith("num_batches_tracked")
                       else torch.randn(shape, generator=g)) for name, shape in released_parameters()}
    model = AFWM(WarpConfig.full())
    assert set(model.state_dict()) == set(released)
    model.load_state_dict(released, strict=True)
    # as a file, saved by DistributedDataParallel (keys prefixed "module."), read with weights_only=True
    torch.save({f"module.{k}": v for k, v in released.items()}, tmp_path / "warp_viton.pth")
    loaded = load_warp_model(tmp_path / "warp_viton.pth")
    key = "cond_FPN.smooth.4.weight"
    torch.testing.assert_close(loaded.state_dict()[key], released[key])
    # a file that needs pickled code is refused, naming the file
    torch.save({"model": torch.nn.Linear(2, 2)}, tmp_path / "pickled.pth")
    with pytest.raises(DataError, match="pickled.pth"):
        load_warp_model(tmp_path / "pickled.pth")


def test_a_few_steps_reduce_the_loss(sample_root):
    torch.manual_seed(0)
    data = WarpPairs(sample_root, "train", size=(128, 96))
    keys = ("person", "cloth", "cloth_mask", "target", "target_mask")
    batch = {k: torch.stack([data[i][k] for i in range(4)]) for k in keys}
    model = AFWM(WarpConfig.tiny())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.999))
    losses = []
    for _ in range(12):
        out = model(batch["person"], batch["cloth"], batch["cloth_mask"])
        loss, _ = warp_loss(out, batch["target"], batch["target_mask"])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.9


def test_resumed_training_equals_an_uninterrupted_run(sample_root, tmp_path):
    cfg = dict(batch_size=2, save_every=3, perceptual=False)
    straight = train_warp(sample_root, tmp_path / "a.safetensors", train_config=TrainConfig(steps=6, **cfg),
                          progress=False)
    train_warp(sample_root, tmp_path / "b.safetensors", train_config=TrainConfig(steps=3, **cfg), progress=False)
    resumed = train_warp(sample_root, tmp_path / "b.safetensors", train_config=TrainConfig(steps=6, **cfg),
                         progress=False, log=lambda *_: None)
    assert resumed["history"] == straight["history"]
    a, meta = load_model(tmp_path / "a.safetensors")
    b, _ = load_model(tmp_path / "b.safetensors")
    for k in a:
        torch.testing.assert_close(a[k], b[k])
    assert meta["step"] == 6 and WarpConfig.from_dict(meta["config"]) == WarpConfig.tiny()


def test_apply_writes_what_the_tryon_stage_reads_and_resumes(sample_copy, tmp_path):
    ckpt = tmp_path / "w.safetensors"
    train_warp(sample_copy, ckpt, train_config=TrainConfig(steps=2, batch_size=2, perceptual=False), progress=False)
    report = apply_warp(sample_copy, ckpt, split="test", progress=False)
    ds = VitonDataset(sample_copy, "test")
    assert report["written_this_run"] == len(ds.ids)
    for key in ("cloth_warp", "cloth_warp_mask"):
        assert sorted(ds.files(key)) == ds.ids  # the layout DCI-VTON reads: cloth-warp/ID.jpg
    # written at the photos' full size, from flows estimated at the model's size
    assert ds.read_mask("cloth_warp_mask", ds.ids[0]).shape == ds.read_image(ds.ids[0]).shape[:2]
    assert apply_warp(sample_copy, ckpt, split="test", progress=False)["written_this_run"] == 0  # resumed
    unpaired = apply_warp(sample_copy, ckpt, split="test", unpaired=True, progress=False)
    assert unpaired["written_this_run"] == len(ds.ids) and ds.has("unpaired_cloth_warp")


def test_box_baseline_stays_in_the_torso_box(sample_root):
    ds = VitonDataset(sample_root, "test")
    i = ds.ids[0]
    kp = ds.read_keypoints(i)
    cloth = ds.cloth(i)
    rgb, mask = box_warp(cloth.image, cloth.mask, kp, cloth.image.shape[:2])
    ys, xs = mask.nonzero()
    assert xs.min() >= kp.body[[2, 5], 0].min() - 1 and xs.max() <= kp.body[[2, 5], 0].max() + 1
    assert ys.min() >= kp.body[[2, 5], 1].min() - 1 and ys.max() <= kp.body[[9, 12], 1].max() + 1
    scores = score_warps(ds, baseline_predictor(ds))
    assert 0 < scores["iou"] < 1 and set(scores["samples"]) == set(ds.ids)
