import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

from posepred.viz_samples import plot_best_of_k, plot_kl_per_dimension, plot_sample_fan  # noqa: E402


def test_sample_pictures_have_labelled_axes_and_legends(valid):
    rng = np.random.default_rng(0)
    future = valid.future[0, 0]
    samples = future[None] + rng.normal(0, 0.05, size=(5, *future.shape))
    figures = [plot_kl_per_dimension({"the paper's VAE": np.zeros(32), "conditional VAE": rng.uniform(0, 2, 32)}),
               plot_sample_fan(valid.observed[0, 0], samples, future, deterministic=future),
               plot_best_of_k({1: 50.0, 5: 45.0, 20: 41.0}, deterministic=47.0)]
    for fig in figures:
        for ax in fig.axes:
            assert ax.get_xlabel() and ax.get_ylabel()
        assert any(ax.get_legend() is not None for ax in fig.axes)
    # the legend counts the active dimensions: 0 for a collapsed VAE
    labels = [t.get_text() for t in figures[0].axes[0].get_legend().get_texts()]
    assert "the paper's VAE: 0 active" in labels and any(t.startswith("conditional VAE: ") for t in labels)
