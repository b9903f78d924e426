import pytest
import torch
import torch.nn.functional as F

from tests.conftest import SHAPES, frames_of, full_forward, random_model


def test_logits_shape(model):
    cfg = model.config
    codes = torch.randint(0, cfg.classes, (3, 50))
    speakers = torch.arange(3) % cfg.n_speakers
    assert full_forward(model, codes, speakers, [0, 1, 2]).shape == (3, cfg.classes, 50)


def test_codes_and_one_hot_input_agree(model):
    codes = torch.randint(0, model.config.classes, (2, 40))
    one_hot = F.one_hot(codes, model.config.classes).float().transpose(1, 2)  # (B, classes, T)
    speakers = torch.zeros(2, dtype=torch.long)
    torch.testing.assert_close(
        full_forward(model, codes, speakers, [0, 1]), full_forward(model, one_hot, speakers, [0, 1]), atol=1e-5, rtol=0
    )


def dependence(model, length: int, t: int) -> torch.Tensor:
    """Positions s of a random input on which the logits at position t depend, found by backprop."""
    torch.manual_seed(1)
    codes = torch.randint(0, model.config.classes, (1, length))
    x = F.one_hot(codes, model.config.classes).float().transpose(1, 2).requires_grad_(True)
    logits = full_forward(model, x, torch.zeros(1, dtype=torch.long), [0])
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


def frame_dependence(model, length: int, t: int) -> torch.Tensor:
    """Frames on which the logits at position t depend, found by backprop."""
    from wavenet.model import frame_window

    cfg = model.config
    codes = torch.randint(0, cfg.classes, (1, length), generator=torch.Generator().manual_seed(2))
    frames = torch.from_numpy(frames_of(model, 0, length)).t()[None].requires_grad_(True)  # (1, C, N)
    window = frame_window(frames.shape[-1], 0, frames.shape[-1] + 1, cfg.cond_layers)
    logits = model(codes, None, frames[:, :, window], 0)
    (logits[0, :, t] * torch.randn(cfg.classes)).sum().backward()
    return (frames.grad[0].abs().sum(dim=0) > 0).nonzero().flatten()


@pytest.mark.parametrize("name", ["cond-hop4", "cond-hop7"])
def test_conditioning_reads_exactly_the_frames_it_should(name):
    """Position t reads the frames of the positions its blocks carry conditioning from, cond_layers more
    on each side, and the next frame (interpolation): up to t // hop + 1 + cond_layers (its lookahead)."""
    model = random_model(SHAPES[name])
    cfg = model.config
    rf, hop, k = cfg.receptive_field, cfg.cond_hop, cfg.cond_layers
    length = 6 * rf
    for t in (3 * rf + 1, 3 * rf + 2, 4 * rf - 1):
        if t % hop == 0:
            continue  # there the next frame's weight is exactly 0
        depends_on = frame_dependence(model, length, t).tolist()
        # Conditioning enters each block after its convolution, so the blocks after the first one
        # carry it: positions t - (k - 1) * (sum of their dilations) .. t.
        reach = (cfg.kernel_size - 1) * sum(cfg.dilations[1:])
        first, last = max(0, (t - reach) // hop - k), t // hop + 1 + k
        assert depends_on == list(range(first, last + 1)), t
        assert last - t // hop == cfg.lookahead_frames


@pytest.mark.parametrize("name", ["cond-hop4", "cond-hop7"])
def test_a_window_of_frames_gives_the_full_pass_last_output(name):
    """What generation and training crops compute: a window of positions with its frames only."""
    from wavenet.model import frame_span, frame_window

    model = random_model(SHAPES[name])
    cfg = model.config
    rf, hop, length = cfg.receptive_field, cfg.cond_hop, 80
    codes = torch.randint(0, 256, (1, length))
    full = full_forward(model, codes, torch.zeros(1, dtype=torch.long), [0])
    frames = torch.from_numpy(frames_of(model, 0)).t()[None]
    for t in range(rf, length):
        first = t - rf + 1
        a, b = frame_span(first, t + 1, hop)
        window = frames[:, :, frame_window(frames.shape[-1], a, b, cfg.cond_layers)]
        out = model(codes[:, first : t + 1], None, window, first - a * hop)[0, :, -1]
        torch.testing.assert_close(out, full[0, :, t], atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", ["k3-2stacks", "k2-3stacks-in1", "debug", "cond-hop4", "cond-hop7"])
def test_logits_from_a_first_position_are_the_full_pass_logits_and_gradients(name):
    """Training on crops whose first targets the loss skips computes only the rest: same logits, same gradients."""
    model = random_model(SHAPES[name]).double()
    cfg = model.config
    length = cfg.receptive_field + 37
    codes = torch.randint(0, cfg.classes, (3, length))
    speakers = torch.arange(3) % cfg.n_speakers
    frames = None
    if cfg.conditioned:
        from wavenet.model import frame_span, frame_window

        start = 2 * cfg.cond_hop  # a crop from frame 2 of a longer stream, as training takes them
        stream = torch.randn(3, cfg.cond_channels, (start + length) // cfg.cond_hop + 4, dtype=torch.float64)
        a, b = frame_span(start, start + length, cfg.cond_hop)
        frames = stream[:, :, frame_window(stream.shape[-1], a, b, cfg.cond_layers)]
    weights = torch.randn(3, cfg.classes, length, dtype=torch.float64)
    full = model(codes, speakers, frames, 0)
    for first in (1, cfg.receptive_field - 1, length - 1, length // 2):
        trimmed = model(codes, speakers, frames, 0, first=first)
        assert trimmed.shape == (3, cfg.classes, length - first)
        torch.testing.assert_close(trimmed, full[..., first:], rtol=0, atol=1e-10)
        grads = []
        for logits in (full[..., first:], trimmed):
            model.zero_grad()
            (logits * weights[..., first:]).sum().backward(retain_graph=True)
            grads.append({k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None})
        assert grads[0].keys() == grads[1].keys()
        for k in grads[0]:
            torch.testing.assert_close(grads[1][k], grads[0][k], rtol=0, atol=1e-9, msg=k)
    with pytest.raises(ValueError, match="first must be in"):
        model(codes, speakers, frames, 0, first=length)


@pytest.mark.parametrize("name", list(SHAPES))
def test_the_forward_pass_is_the_textbook_computation(name):
    """The training speed-ups (trimming, one product for the skips, broadcast interpolation) change no number."""
    from tests.conftest import textbook_forward

    model = random_model(SHAPES[name]).double()
    cfg = model.config
    codes = torch.randint(0, cfg.classes, (2, cfg.receptive_field + 50))
    speakers = torch.arange(2) % cfg.n_speakers
    frames, start = None, 0
    if cfg.conditioned:
        frames = torch.randn(2, cfg.cond_channels, codes.shape[1] // cfg.cond_hop + 3 + 2 * cfg.cond_layers,
                             dtype=torch.float64)  # fmt: skip
        start = cfg.cond_hop // 2  # position 0 predicts a sample half a frame in
    expected = textbook_forward(model, codes, speakers, frames, start)
    torch.testing.assert_close(model(codes, speakers, frames, start), expected, rtol=0, atol=1e-10)
    first = cfg.receptive_field - 1
    torch.testing.assert_close(model(codes, speakers, frames, start, first=first), expected[..., first:], rtol=0,
                               atol=1e-10)  # fmt: skip
