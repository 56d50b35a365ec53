"""``vton demo``: a local web page (Gradio) over the course's own code. The page has no logic of its own: a
request is :func:`vtonlib.prepare.whole.try_photo` (prepare, warp, try on, correct the hands), and the page
shows what it wrote.

Local only: 127.0.0.1, no share link, Gradio's analytics off (with them on, Gradio calls out for a version
check and telemetry, and its shutdown then waits on those threads). Install with ``make demo``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from . import imaging
from .fileio import DataError

REPO = Path(__file__).resolve().parent.parent
SHARED_PHOTOS = REPO.parent / "shared" / "data" / "photos"
SAMPLE = REPO / "data" / "sample" / "test"
TITLE = "Virtual try-on with hand correction"


def examples() -> tuple[list[str], list[str]]:
    """(person photos, garment photos) to offer: the built-in sample's and the real demo photos, where present."""
    people, garments = [], []
    if SAMPLE.is_dir():
        people += [str(p) for p in sorted((SAMPLE / "image").glob("*.jpg"))[:2]]
        garments += [str(p) for p in sorted((SAMPLE / "cloth").glob("*.jpg"))[:2]]
    if SHARED_PHOTOS.is_dir():
        people += [str(p) for p in sorted(SHARED_PHOTOS.glob("person_*"))]
        garments += [str(p) for p in sorted(SHARED_PHOTOS.glob("garment_*"))]
    return people, garments


def find_models(model=None, warp=None, lora=None) -> dict:
    """The models to serve: those given, else the latest course run's; a DataError says what to run first."""
    from .prepare.whole import latest_run_models

    if model is None or warp is None:
        found = latest_run_models()
        model, warp, lora = model or found["model"], warp or found["warp"], lora or found["lora"]
    for path in (model, warp) + ((lora,) if lora else ()):
        if not Path(path).exists():
            raise DataError(path, "not found")
    return {"model": Path(model), "warp": Path(warp), "lora": Path(lora) if lora else None}


def message(error: BaseException) -> str:
    """A failure as one line a user can act on (the page never shows a traceback)."""
    if isinstance(error, (DataError, ValueError, FileNotFoundError)):
        return str(error)
    return f"{type(error).__name__}: {error}"


def run_request(models: dict, person, garment, lora_scale: float = 0.8, strength: float = 0.5,
                hand_source: str = "keypoints", seed: int = 0, steps: int = 25, work=None, on_step=None) -> dict:
    """One try-on for the page: {"tryon", "corrected", "side_by_side" (arrays), "views" [(image, caption)],
    "times" {step: seconds}}. Raises DataError (bad input) with a message for the page."""
    from .data.reader import VitonDataset
    from .prepare.batch import SPLIT, sample_id
    from .prepare.whole import try_photo
    from .viz import prepared_views

    if not person or not garment:
        raise DataError("input", "give a person photo and a garment photo")
    work = Path(work or tempfile.mkdtemp(prefix="vton-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix="request-", dir=work))  # one folder per request: requests never mix
    record = try_photo(person, garment, out, lora=models["lora"], model=models["model"], warp=models["warp"],
                       lora_scale=float(lora_scale), strength=float(strength), hand_source=hand_source,
                       seed=int(seed), steps=steps, on_step=on_step)
    pid, gid = sample_id(person), sample_id(garment)
    ds = VitonDataset(out / "root", SPLIT)
    pictures, captions = prepared_views(ds.person(pid))
    warped = ds.dir / "unpaired-cloth-warp" / f"{pid}.jpg"
    views = list(zip(pictures, captions))
    if warped.exists():
        views.append((imaging.read_image(warped), "warped garment"))
    views.insert(0, (imaging.read_image(ds.dir / "cloth" / f"{gid}.jpg"), "garment, as prepared"))
    return {"tryon": imaging.read_image(out / "tryon.png"), "corrected": imaging.read_image(out / "corrected.png"),
            "side_by_side": imaging.read_image(out / "side_by_side.png"), "views": views,
            "times": record["seconds"], "note": record.get("note", ""), "out": str(out)}


def times_markdown(times: dict, note: str = "") -> str:
    rows = " | ".join(f"{k} {v:.2f} s" for k, v in times.items())
    return f"**Done.** {rows}" + (f"  \n{note}" if note else "")


def _short(path: Path) -> str:
    """A model's path as the user knows it: relative to the repository when inside it."""
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def build_app(model=None, warp=None, lora=None, work=None):
    """The Gradio Blocks page (or, without models, a page saying what to run first)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    try:
        models = find_models(model, warp, lora)
    except DataError as e:
        with gr.Blocks(title=TITLE) as app:
            gr.Markdown(f"# {TITLE}\n\nNo models to serve yet: {e}.\n\nRun `make run` (the course trains them), "
                        f"then `vton demo` again; or start it with `--model DIR --warp CKPT --lora F`.")
        return app
    people, garments = examples()
    work = work or tempfile.mkdtemp(prefix="vton-demo-")  # this server's requests, one folder each

    def respond(person, garment, lora_scale, strength, hand_source, seed, progress=gr.Progress()):
        try:
            result = run_request(models, person, garment, lora_scale, strength, hand_source, seed, work=work,
                                 on_step=lambda name, i, n: progress(i / n, desc=name))
        except Exception as e:  # any failure is a message in the page; the server goes on
            return None, None, None, [], f"**Could not try this on.** {message(e)}"
        return (result["tryon"], result["corrected"], result["side_by_side"], result["views"],
                times_markdown(result["times"], result["note"]))

    with gr.Blocks(title=TITLE) as app:
        gr.Markdown(f"# {TITLE}\n\nModels: try-on `{_short(models['model'])}`, warp `{_short(models['warp'])}`, "
                    f"hand LoRA `{_short(models['lora']) if models['lora'] else 'none'}`. Everything runs on this "
                    f"machine.")
        with gr.Row():
            person = gr.Image(label="Person", type="filepath", elem_id="person")
            garment = gr.Image(label="Garment", type="filepath", elem_id="garment")
        if people and garments:
            with gr.Row():
                gr.Examples([[p] for p in people], inputs=[person], label="people")
                gr.Examples([[g] for g in garments], inputs=[garment], label="garments")
        with gr.Row():
            lora_scale = gr.Slider(0.0, 1.5, value=0.8, step=0.05, label="lora_scale", elem_id="lora_scale")
            strength = gr.Slider(0.1, 1.0, value=0.5, step=0.05, label="strength", elem_id="strength")
            hand_source = gr.Radio(["keypoints", "detector", "none"], value="keypoints", label="hand source")
            seed = gr.Number(value=0, precision=0, label="seed")
        button = gr.Button("Try on", variant="primary", elem_id="try")
        status = gr.Markdown(elem_id="status")
        with gr.Tabs():
            with gr.Tab("Result"):
                with gr.Row():
                    tryon = gr.Image(label="Try-on", elem_id="tryon", format="png")
                    corrected = gr.Image(label="Hands corrected", elem_id="corrected", format="png")
                side = gr.Image(label="Side by side (hands zoomed)", elem_id="side", format="png")
            with gr.Tab("What the model saw"):
                views = gr.Gallery(label="keypoints, hand masks, parse, DensePose, repainted region, warped garment",
                                   columns=4, elem_id="views")
        button.click(respond, [person, garment, lora_scale, strength, hand_source, seed],
                     [tryon, corrected, side, views, status])
    return app


def serve(host: str = "127.0.0.1", port: int = 7860, model=None, warp=None, lora=None, work=None) -> None:
    app = build_app(model, warp, lora, work)
    app.queue().launch(server_name=host, server_port=port, share=False, ssr_mode=False, show_error=False,
                       inbrowser=False)
