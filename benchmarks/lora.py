"""The hand LoRA's cost: its share of the full-size UNet's parameters at rank 64 (the original's setting,
counted on the full config without allocating it), training speed and peak memory at notebook 05's
defaults on the sample, and with ``--full`` the peak memory of one full-size training step (256-pixel crops,
batch 4, bf16, gradient checkpointing): measured on a GPU, or, without one, estimated on the CPU from the
weights, the adapter's training state and the activations autograd actually saves (measured at batch 1 in
float32, scaled to batch 4 in bf16), and said so.

    python benchmarks/lora.py            # sample, tiny model, 100 training steps
    python benchmarks/lora.py --full     # plus the full-size step (GPU: measured; CPU: estimated, ~1 min)

Last line: one JSON object.
"""

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import torch

from vtonlib.data.sample import make_sample
from vtonlib.hands.batch import write_hand_masks
from vtonlib.lora import LoraSpec, LoraTrainConfig, add_lora, count_lora_parameters, lora_parameters, train_lora
from vtonlib.tryon import TryOnConfig, TryOnModel

NOTEBOOK_SPEC = LoraSpec(rank=8, alpha=4.0, targets="all")  # notebook 05's tiny-model adapter


def lora_share(spec: LoraSpec = LoraSpec()) -> tuple[float, int, int]:
    with torch.device("meta"):  # shapes only: no memory, no time
        unet = TryOnModel(TryOnConfig.full()).unet
    total = sum(p.numel() for p in unet.parameters())
    add_lora(unet, spec)
    lora = count_lora_parameters(unet)
    return lora / total, lora, total


def sample_speed(steps: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = make_sample(tmp / "sample", n=48, progress=False)
        masks = tmp / "hand-mask"
        write_hand_masks(root, masks, split="train", method="keypoints", progress=False)
        torch.manual_seed(0)
        TryOnModel(TryOnConfig.tiny()).save(tmp / "model")  # speed does not depend on how trained it is
        cfg = LoraTrainConfig(steps=steps, validate_every=steps, sample_every=steps, save_every=steps)
        result = train_lora(root, tmp / "model", masks, tmp / "hands.safetensors", NOTEBOOK_SPEC, cfg,
                            progress=False, log=lambda *_: None)
    peak = (torch.cuda.max_memory_allocated() if torch.cuda.is_available()
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)  # Linux: kB
    return steps / result["seconds"], peak / 2**20


def full_step_inputs(unet, batch: int, crop: int, device, dtype=torch.float32):
    side = crop // 8
    x = torch.randn(batch, 9, side, side, device=device, dtype=dtype)
    t = torch.randint(0, 1000, (batch,), device=device)
    cond = torch.randn(batch, 1, 768, device=device, dtype=dtype)
    return x, t, cond


def full_gpu(batch: int = 4, crop: int = 256) -> dict:
    device = torch.device("cuda")
    unet = TryOnModel(TryOnConfig.full()).unet.to(device)
    add_lora(unet, LoraSpec())
    unet.enable_gradient_checkpointing()
    unet.train()
    optimizer = torch.optim.AdamW(lora_parameters(unet), lr=1e-4)
    torch.cuda.reset_peak_memory_stats()
    for _ in range(2):  # the second step holds the optimizer moments
        x, t, cond = full_step_inputs(unet, batch, crop, device)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = unet(x, t, encoder_hidden_states=cond).sample.float().square().mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    torch.cuda.synchronize()
    return {"peak_gpu_mem_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1),
            "device": torch.cuda.get_device_name()}


def full_cpu_estimate(batch: int = 4, crop: int = 256) -> dict:
    """Weights (fp32, as Accelerate keeps them) + adapter, its gradient and AdamW moments + activations."""
    torch.manual_seed(0)
    unet = TryOnModel(TryOnConfig.full()).unet
    add_lora(unet, LoraSpec())
    unet.enable_gradient_checkpointing()
    unet.train()
    weights = sum(p.numel() * p.element_size() for p in unet.parameters())
    adapter = sum(p.numel() for p in lora_parameters(unet)) * 4 * 3  # gradient + two AdamW moments, fp32
    saved = []

    def pack(tensor):
        saved.append(tensor.numel() * tensor.element_size())
        return tensor

    x, t, cond = full_step_inputs(unet, 1, crop, "cpu")
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        loss = unet(x, t, encoder_hidden_states=cond).sample.square().mean()
    activations = sum(saved) * batch / 2  # batch 4, bf16 halves what autocast saves
    # with checkpointing one block's activations are recomputed in the backward pass: allow 25 % for it
    estimate = weights + adapter + 1.25 * activations
    del loss
    return {"estimated_mb": round(estimate / 2**20, 1), "weights_mb": round(weights / 2**20, 1),
            "activations_mb": round(activations / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--full", action="store_true", help="also the full-size step (GPU) or its estimate (CPU)")
    args = parser.parse_args()
    share, lora, total = lora_share()
    print(f"full-size UNet: {total / 1e6:.1f} M parameters; rank-64 LoRA on the attention projections: "
          f"{lora / 1e6:.2f} M ({100 * share:.2f} %)")
    start = time.perf_counter()
    steps_per_s, peak_mb = sample_speed(args.steps)
    print(f"sample (48 people), tiny model, rank {NOTEBOOK_SPEC.rank} '{NOTEBOOK_SPEC.targets}', 96-pixel crops, "
          f"batch 4: {steps_per_s:.2f} steps/s; peak memory {peak_mb:.0f} MB "
          f"({'GPU allocated' if torch.cuda.is_available() else 'process RSS, CPU'}); "
          f"{time.perf_counter() - start:.0f} s")
    full = None
    if args.full and torch.cuda.is_available():
        full = full_gpu()
        print(f"full size, batch 4, 256-pixel crops, bf16, gradient checkpointing on {full['device']}: "
              f"peak {full['peak_gpu_mem_mb']:.0f} MB")
    elif args.full:
        estimate = full_cpu_estimate()
        print(f"no GPU here: full-size step ESTIMATED at {estimate['estimated_mb']:.0f} MB (weights "
              f"{estimate['weights_mb']:.0f} MB fp32, activations saved for backward "
              f"{estimate['activations_mb']:.0f} MB "
              f"measured at batch 1 fp32 and scaled to batch 4 bf16); 'full' stays null until measured on a GPU")
    print(json.dumps({"lora_share": round(share, 5), "steps_per_s": round(steps_per_s, 3),
                      "peak_mem_mb": round(peak_mb, 1), "full": full}))


if __name__ == "__main__":
    main()
