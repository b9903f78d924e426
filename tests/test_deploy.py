"""The Kubernetes manifests (deploy/kubernetes/) validate against Kubernetes' own schemas and fit the server.

No cluster here: PyPI's kubernetes-validate carries the API's JSON schemas, and the test holds the
manifests to what the server does (its port, its probe routes, its shutdown time, the image's models).
"""

from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from wavenet_service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy" / "kubernetes"
VERSION = "1.30.0"  # the oldest Kubernetes still in common support; every field used is older


def manifests() -> dict[str, dict]:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    found = {}
    for name in kustomization["resources"]:
        for doc in yaml.safe_load_all((DEPLOY / name).read_text()):
            found[doc["kind"]] = doc
    return found


@pytest.mark.parametrize("kind", ["Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"])
def test_each_manifest_is_valid_kubernetes(kind):
    resources = manifests()
    assert kind in resources
    kubernetes_validate.validate(resources[kind], VERSION, strict=True)  # raises on any unknown or wrong field


def test_the_manifests_fit_the_server():
    resources = manifests()
    pod = resources["Deployment"]["spec"]["template"]
    container = pod["spec"]["containers"][0]
    port = container["ports"][0]
    assert port["containerPort"] == Settings().port == 8000
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    env = {e["name"]: e.get("value") for e in container["env"]}
    known = {f"WAVENET_{k.upper()}" for k in Settings.model_fields} | {"WAVENET_NATIVE_THREADS"}  # (the backend's)
    assert env["WAVENET_HOST"] == "0.0.0.0" and set(env) <= known
    requests = container["resources"]["requests"]
    assert requests["cpu"] and requests["memory"] and container["resources"]["limits"]["memory"]
    # Streams in flight finish within the server's shutdown timeout, after the preStop pause: the grace covers both.
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pod["spec"]["terminationGracePeriodSeconds"] > pause + Settings().shutdown_timeout
    labels = pod["metadata"]["labels"]
    assert resources["Service"]["spec"]["selector"] == labels
    assert resources["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == labels
    assert resources["Service"]["spec"]["ports"][0]["targetPort"] == port["name"]
    target = resources["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", resources["Deployment"]["metadata"]["name"])
    # The image serves the bundled models: the Dockerfile puts them where the server looks.
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert "COPY checkpoints ./checkpoints" in dockerfile and "WAVENET_CHECKPOINTS_DIR=/app/checkpoints" in dockerfile


def test_a_wrong_field_is_caught():
    """The validator is not a no-op: a misspelt field and a wrong type fail."""
    deployment = manifests()["Deployment"]
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSION, strict=True)
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSION, strict=True)
