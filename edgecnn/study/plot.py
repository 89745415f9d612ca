"""Accuracy against latency, one marker per (model, variant), marker area proportional to file size,
the Pareto front drawn through the rows no other row beats."""

from edgecnn.study.table import pareto


def plot(rows, path, title):
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")              # files only: no display on a build machine
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 6))
    largest = max(r.bytes for r in rows)
    models = sorted({r.model for r in rows})
    colours = {m: plt.get_cmap("tab20")(i % 20) for i, m in enumerate(models)}
    for r in rows:
        ax.scatter(r.median_ms, 100 * r.top1, s=20 + 1500 * r.bytes / largest, color=colours[r.model],
                   alpha=0.6, edgecolors="black", linewidths=0.5)
        ax.annotate(f"{r.model} {r.variant}", (r.median_ms, 100 * r.top1), fontsize=6,
                    xytext=(3, 3), textcoords="offset points")
    front = pareto(rows)
    ax.plot([r.median_ms for r in front], [100 * r.top1 for r in front], "k--", linewidth=1, label="Pareto front")
    ax.set_xscale("log")
    plain = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}")
    ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("median latency per image, ms (log scale)")
    ax.set_ylabel("top-1 accuracy, %")
    ax.set_title(f"{title}\nmarker area proportional to file size", fontsize=9)
    ax.legend(loc="lower right")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
