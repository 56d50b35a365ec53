"""The tensor names and shapes of a CompVis/LDM try-on checkpoint (DCI-VTON's viton512.ckpt layout),
written out from the LDM architecture (openaimodel.UNetModel, the taming-style autoencoder, the
Paint-by-Example image embedder), independently of the converter under test. Names depend on the
structure only, so a tiny config gives a tiny file with the released names."""

import torch

from vtonlib.tryon.model import TryOnConfig


def tiny_kl_config() -> TryOnConfig:
    """The tiny preset on a small Stable-Diffusion-style AutoencoderKL (4 latent channels, 9 UNet inputs): the
    shape of an LDM checkpoint at a unit-test size."""
    cfg = TryOnConfig.tiny()
    cfg.autoencoder = dict(kind="kl", block_out_channels=(8, 16, 32, 64), layers_per_block=1, norm_num_groups=4,
                           mid_block_add_attention=False, latent_channels=4, scaling_factor=1.0)
    cfg.unet.update(in_channels=9, out_channels=4, block_out_channels=(32, 64, 128), norm_num_groups=8)
    return cfg


def _resblock(keys, p, cin, cout, temb):
    keys += [(f"{p}.in_layers.0.weight", (cin,)), (f"{p}.in_layers.0.bias", (cin,)),
             (f"{p}.in_layers.2.weight", (cout, cin, 3, 3)), (f"{p}.in_layers.2.bias", (cout,)),
             (f"{p}.emb_layers.1.weight", (cout, temb)), (f"{p}.emb_layers.1.bias", (cout,)),
             (f"{p}.out_layers.0.weight", (cout,)), (f"{p}.out_layers.0.bias", (cout,)),
             (f"{p}.out_layers.3.weight", (cout, cout, 3, 3)), (f"{p}.out_layers.3.bias", (cout,))]
    if cin != cout:
        keys += [(f"{p}.skip_connection.weight", (cout, cin, 1, 1)), (f"{p}.skip_connection.bias", (cout,))]


def _transformer(keys, p, ch, context):
    t = f"{p}.transformer_blocks.0"
    keys += [(f"{p}.norm.weight", (ch,)), (f"{p}.norm.bias", (ch,)),
             (f"{p}.proj_in.weight", (ch, ch, 1, 1)), (f"{p}.proj_in.bias", (ch,)),
             (f"{p}.proj_out.weight", (ch, ch, 1, 1)), (f"{p}.proj_out.bias", (ch,))]
    for a, kdim in (("attn1", ch), ("attn2", context)):
        keys += [(f"{t}.{a}.to_q.weight", (ch, ch)), (f"{t}.{a}.to_k.weight", (ch, kdim)),
                 (f"{t}.{a}.to_v.weight", (ch, kdim)), (f"{t}.{a}.to_out.0.weight", (ch, ch)),
                 (f"{t}.{a}.to_out.0.bias", (ch,))]
    keys += [(f"{t}.ff.net.0.proj.weight", (8 * ch, ch)), (f"{t}.ff.net.0.proj.bias", (8 * ch,)),
             (f"{t}.ff.net.2.weight", (ch, 4 * ch)), (f"{t}.ff.net.2.bias", (ch,))]
    for n in (1, 2, 3):
        keys += [(f"{t}.norm{n}.weight", (ch,)), (f"{t}.norm{n}.bias", (ch,))]


def unet_keys(cfg: TryOnConfig, prefix="model.diffusion_model."):
    u = cfg.unet
    widths, nrb = list(u["block_out_channels"]), u["layers_per_block"]
    attn = [t.startswith("CrossAttn") for t in u["down_block_types"]]
    c, temb, ctx = widths[0], 4 * widths[0], cfg.cross_attention_dim
    keys = [("time_embed.0.weight", (temb, c)), ("time_embed.0.bias", (temb,)),
            ("time_embed.2.weight", (temb, temb)), ("time_embed.2.bias", (temb,)),
            ("input_blocks.0.0.weight", (c, u["in_channels"], 3, 3)), ("input_blocks.0.0.bias", (c,))]
    ch, chans, i = c, [c], 0
    for level, width in enumerate(widths):
        for _ in range(nrb):
            i += 1
            _resblock(keys, f"input_blocks.{i}.0", ch, width, temb)
            ch = width
            if attn[level]:
                _transformer(keys, f"input_blocks.{i}.1", ch, ctx)
            chans.append(ch)
        if level != len(widths) - 1:
            i += 1
            keys += [(f"input_blocks.{i}.0.op.weight", (ch, ch, 3, 3)), (f"input_blocks.{i}.0.op.bias", (ch,))]
            chans.append(ch)
    _resblock(keys, "middle_block.0", ch, ch, temb)
    _transformer(keys, "middle_block.1", ch, ctx)
    _resblock(keys, "middle_block.2", ch, ch, temb)
    o = 0
    for level in reversed(range(len(widths))):
        for j in range(nrb + 1):
            skip = chans.pop()
            _resblock(keys, f"output_blocks.{o}.0", ch + skip, widths[level], temb)
            ch = widths[level]
            k = 1
            if attn[level]:
                _transformer(keys, f"output_blocks.{o}.1", ch, ctx)
                k = 2
            if level and j == nrb:
                keys += [(f"output_blocks.{o}.{k}.conv.weight", (ch, ch, 3, 3)),
                         (f"output_blocks.{o}.{k}.conv.bias", (ch,))]
            o += 1
    keys += [("out.0.weight", (c,)), ("out.0.bias", (c,)), ("out.2.weight", (u["out_channels"], c, 3, 3)),
             ("out.2.bias", (u["out_channels"],))]
    return [(prefix + k, s) for k, s in keys]


def _vae_block(keys, p, cin, cout):
    keys += [(f"{p}.norm1.weight", (cin,)), (f"{p}.norm1.bias", (cin,)), (f"{p}.conv1.weight", (cout, cin, 3, 3)),
             (f"{p}.conv1.bias", (cout,)), (f"{p}.norm2.weight", (cout,)), (f"{p}.norm2.bias", (cout,)),
             (f"{p}.conv2.weight", (cout, cout, 3, 3)), (f"{p}.conv2.bias", (cout,))]
    if cin != cout:
        keys += [(f"{p}.nin_shortcut.weight", (cout, cin, 1, 1)), (f"{p}.nin_shortcut.bias", (cout,))]


def _vae_mid(keys, p, ch, attention):
    _vae_block(keys, f"{p}.block_1", ch, ch)
    if attention:
        keys += [(f"{p}.attn_1.norm.weight", (ch,)), (f"{p}.attn_1.norm.bias", (ch,))]
        for n in ("q", "k", "v", "proj_out"):
            keys += [(f"{p}.attn_1.{n}.weight", (ch, ch, 1, 1)), (f"{p}.attn_1.{n}.bias", (ch,))]
    _vae_block(keys, f"{p}.block_2", ch, ch)


def vae_keys(cfg: TryOnConfig, prefix="first_stage_model."):
    v = cfg.autoencoder
    widths, nrb, z = list(v["block_out_channels"]), v["layers_per_block"], v["latent_channels"]
    attention = v.get("mid_block_add_attention", True)
    keys = [("encoder.conv_in.weight", (widths[0], 3, 3, 3)), ("encoder.conv_in.bias", (widths[0],))]
    ch = widths[0]
    for i, width in enumerate(widths):
        for j in range(nrb):
            _vae_block(keys, f"encoder.down.{i}.block.{j}", ch, width)
            ch = width
        if i != len(widths) - 1:
            keys += [(f"encoder.down.{i}.downsample.conv.weight", (ch, ch, 3, 3)),
                     (f"encoder.down.{i}.downsample.conv.bias", (ch,))]
    _vae_mid(keys, "encoder.mid", ch, attention)
    keys += [("encoder.norm_out.weight", (ch,)), ("encoder.norm_out.bias", (ch,)),
             ("encoder.conv_out.weight", (2 * z, ch, 3, 3)), ("encoder.conv_out.bias", (2 * z,)),
             ("quant_conv.weight", (2 * z, 2 * z, 1, 1)), ("quant_conv.bias", (2 * z,)),
             ("post_quant_conv.weight", (z, z, 1, 1)), ("post_quant_conv.bias", (z,)),
             ("decoder.conv_in.weight", (ch, z, 3, 3)), ("decoder.conv_in.bias", (ch,))]
    _vae_mid(keys, "decoder.mid", ch, attention)
    for i in reversed(range(len(widths))):
        for j in range(nrb + 1):
            _vae_block(keys, f"decoder.up.{i}.block.{j}", ch, widths[i])
            ch = widths[i]
        if i != 0:
            keys += [(f"decoder.up.{i}.upsample.conv.weight", (ch, ch, 3, 3)),
                     (f"decoder.up.{i}.upsample.conv.bias", (ch,))]
    keys += [("decoder.norm_out.weight", (ch,)), ("decoder.norm_out.bias", (ch,)),
             ("decoder.conv_out.weight", (3, ch, 3, 3)), ("decoder.conv_out.bias", (3,))]
    return [(prefix + k, s) for k, s in keys]


def encoder_keys(cfg: TryOnConfig):
    c = cfg.clip
    w, inter, layers = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    patches = (c["image_size"] // c["patch_size"]) ** 2
    t = "cond_stage_model.transformer.vision_model."
    patch = c["patch_size"]
    keys = [(t + "embeddings.class_embedding", (w,)), (t + "embeddings.patch_embedding.weight", (w, 3, patch, patch)),
            (t + "embeddings.position_embedding.weight", (patches + 1, w)),
            (t + "embeddings.position_ids", (1, patches + 1)),
            (t + "pre_layrnorm.weight", (w,)), (t + "pre_layrnorm.bias", (w,)),
            (t + "post_layernorm.weight", (w,)), (t + "post_layernorm.bias", (w,))]
    for i in range(layers):
        p = f"{t}encoder.layers.{i}."
        for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
            keys += [(p + f"self_attn.{n}.weight", (w, w)), (p + f"self_attn.{n}.bias", (w,))]
        keys += [(p + "layer_norm1.weight", (w,)), (p + "layer_norm1.bias", (w,)), (p + "mlp.fc1.weight", (inter, w)),
                 (p + "mlp.fc1.bias", (inter,)), (p + "mlp.fc2.weight", (w, inter)), (p + "mlp.fc2.bias", (w,)),
                 (p + "layer_norm2.weight", (w,)), (p + "layer_norm2.bias", (w,))]
    for i in range((layers + 1) // 5):  # Paint-by-Example's mapper: Transformer(1, width, 5, 1) at ViT-L
        p = f"cond_stage_model.mapper.resblocks.{i}."
        keys += [(p + "attn.c_qkv.weight", (3 * w, w)), (p + "attn.c_qkv.bias", (3 * w,)),
                 (p + "attn.c_proj.weight", (w, w)), (p + "attn.c_proj.bias", (w,)),
                 (p + "ln_1.weight", (w,)), (p + "ln_1.bias", (w,)), (p + "ln_2.weight", (w,)), (p + "ln_2.bias", (w,)),
                 (p + "mlp.c_fc.weight", (4 * w, w)), (p + "mlp.c_fc.bias", (4 * w,)),
                 (p + "mlp.c_proj.weight", (w, 4 * w)), (p + "mlp.c_proj.bias", (w,))]
    d = cfg.cross_attention_dim
    keys += [("cond_stage_model.final_ln.weight", (w,)), ("cond_stage_model.final_ln.bias", (w,)),
             ("proj_out.weight", (d, w)), ("proj_out.bias", (d,)), ("learnable_vector", (1, 1, d))]
    return keys


def extra_keys(cfg: TryOnConfig):
    """What else a Lightning LDM checkpoint holds: schedule buffers, loss weights, one EMA tensor."""
    return [("betas", (1000,)), ("alphas_cumprod", (1000,)), ("posterior_variance", (1000,)), ("logvar", (1000,)),
            ("model_ema.num_updates", ()), ("model_ema.diffusion_modeltime_embed0weight",
                                            (4 * cfg.unet["block_out_channels"][0], cfg.unet["block_out_channels"][0]))]


def ldm_state_dict(cfg: TryOnConfig, fill: str = "randn", seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    keys = unet_keys(cfg) + vae_keys(cfg) + encoder_keys(cfg) + extra_keys(cfg)
    make = {"randn": lambda s: torch.randn(s, generator=g), "empty": lambda s: torch.empty(s)}[fill]
    return {k: (torch.zeros(s, dtype=torch.long) if k.endswith("position_ids") else make(s)) for k, s in keys}
