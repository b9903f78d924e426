import torch
import torch.nn.functional as F

from tests.conftest import SHAPES, random_model


def test_logits_shape(model):
    cfg = model.config
    codes = torch.randint(0, cfg.classes, (3, 50))
    speakers = torch.arange(3) % cfg.n_speakers
    assert model(codes, speakers).shape == (3, cfg.classes, 50)


def test_codes_and_one_hot_input_agree(model):
    codes = torch.randint(0, model.config.classes, (2, 40))
    one_hot = F.one_hot(codes, model.config.classes).float().transpose(1, 2)  # (B, classes, T)
    torch.testing.assert_close(model(codes), model(one_hot), atol=1e-5, rtol=0)


def dependence(model, length: int, t: int) -> torch.Tensor:
    """Positions s of a random input on which the logits at position t depend, found by backprop."""
    torch.manual_seed(1)
    codes = torch.randint(0, model.config.classes, (1, length))
    x = F.one_hot(codes, model.config.classes).float().transpose(1, 2).requires_grad_(True)
    logits = model(x)
    (logits[0, :, t] * torch.randn(model.config.classes)).sum().backward()
    return (x.grad[0].abs().sum(dim=0) > 0).nonzero().flatten()


def test_causal_and_receptive_field_matches_config(model):
    rf = model.config.receptive_field
    length = 2 * rf + 10
    t = rf + 5
    depends_on = dependence(model, length, t)
    assert depends_on.max().item() == t, "an output depends on a future input"
    assert depends_on.tolist() == list(range(t - rf + 1, t + 1))  # exactly the receptive field


def test_outputs_near_the_start_see_only_the_past(model):
    for t in range(3):
        assert dependence(model, 20, t).tolist() == list(range(t + 1))


def test_speaker_changes_the_output():
    model = random_model(SHAPES["k3-2stacks"])
    codes = torch.randint(0, 256, (1, 30)).repeat(3, 1)
    out = model(codes, torch.tensor([0, 1, 2]))
    assert not torch.allclose(out[0], out[1])
    assert not torch.allclose(out[1], out[2])
