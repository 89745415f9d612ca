"""Accuracy against latency, one marker per (model, variant): colour the model, shape the variant,
area proportional to file size; the Pareto front drawn through the rows no other row beats. Models and
variants are named in two legends (36 labels on the points overlap)."""

from edgecnn.artifacts import atomic_path
from edgecnn.study.table import pareto


def plot(rows, path, title):
    import matplotlib
    import matplotlib.lines
    import matplotlib.ticker

    matplotlib.use("Agg")              # files only: no display on a build machine
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 6))
    largest = max(r.bytes for r in rows)
    models = sorted({r.model for r in rows})
    colours = {m: plt.get_cmap("tab20")(i % 20) for i, m in enumerate(models)}
    shapes = dict(zip(sorted({r.variant for r in rows}), "os^DvP*Xhp"))
    for r in rows:
        ax.scatter(r.median_ms, 100 * r.top1, s=20 + 1500 * r.bytes / largest, color=colours[r.model],
                   marker=shapes[r.variant], alpha=0.6, edgecolors="black", linewidths=0.5)
    front = pareto(rows)
    line, = ax.plot([r.median_ms for r in front], [100 * r.top1 for r in front], "k--", linewidth=1)
    handle = matplotlib.lines.Line2D
    model_keys = [handle([], [], marker="o", linestyle="", color=colours[m], label=m) for m in models]
    variant_keys = [handle([], [], marker=shape, linestyle="", color="grey", label=v)
                    for v, shape in shapes.items()]
    by_model = ax.legend(handles=model_keys, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8,
                         title="model")
    ax.add_artist(by_model)                                   # a second legend() call would replace it
    by_variant = ax.legend(handles=variant_keys + [line], labels=list(shapes) + ["Pareto front"],
                           loc="lower left", bbox_to_anchor=(1.01, 0), fontsize=8, title="variant")
    ax.set_xscale("log")
    plain = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}")
    ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("median latency per image, ms (log scale)")
    ax.set_ylabel("top-1 accuracy, %")
    ax.set_title(f"{title}\nmarker area proportional to file size", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight",
                    bbox_extra_artists=[by_model, by_variant])   # the legends sit outside the axes
    plt.close(fig)
