"""The public names of shared/DESIGN.md's contract resolve, from a fresh interpreter.

Users, demos and tests call these names; a rename or a missing export breaks
them, so each is looked up the way a user would write it.
"""
import subprocess
import sys

import pytest

CONTRACT = {
    "minigrad": ["Tensor", "grad", "no_grad", "detect_anomaly", "gradcheck", "gradgradcheck",
                 "GradcheckError", "nn.Module", "nn.Linear", "nn.MLP", "optim.SGD",
                 "optim.Adam", "optim.RMSprop", "kernels.logsumexp", "kernels.softmax"],
    "dpm": ["kl_divergence", "register_kl", "expectation",
            "distributions.Normal", "distributions.MultivariateNormal", "distributions.Uniform",
            "distributions.Exponential", "distributions.Cauchy", "distributions.Laplace",
            "distributions.Gumbel", "distributions.Gamma", "distributions.Bernoulli",
            "distributions.Categorical", "distributions.RelaxedOneHotCategorical",
            "distributions.GaussianMixture", "distributions.TransformedDistribution",
            "divergences.kl", "divergences.forward_kl", "divergences.reverse_kl",
            "divergences.cross_entropy", "divergences.js_divergence",
            "divergences.f_divergence", "divergences.mmd", "montecarlo.expectation",
            "wasserstein.wasserstein_1d", "wasserstein.emd", "wasserstein.sinkhorn",
            "quadrature.kl", "quadrature.js", "quadrature.f_divergence",
            "fitting.fit_normal", "datasets.load_digits",
            "models.gan.optimal_discriminator", "models.gan.value",
            "vi.mean_field.gaussian_cavi", "vi.mean_field.gaussian_forward_kl"],
}


@pytest.mark.parametrize("package", sorted(CONTRACT))
def test_contract_names_resolve_after_a_plain_import(package):
    # A child interpreter: nothing imported by other tests can make a name appear.
    lookups = "; ".join(f"{package}.{name}" for name in CONTRACT[package])
    code = f"import {package}; {lookups}"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_unknown_attribute_of_dpm_is_an_attribute_error():
    import dpm
    with pytest.raises(AttributeError, match="no attribute 'divergence'"):
        dpm.divergence   # noqa: B018  (a typo of dpm.divergences)
    assert "divergences" in dir(dpm)
