"""The optimizer that skips loading PyTorch's compiler updates exactly as torch's fused Adam."""
import torch
import torch.nn as nn

from models.adam import fused_adam


def train_three_steps(make_optimizer, scaled: bool):
    torch.manual_seed(0)
    network = nn.Sequential(nn.Conv2d(3, 8, 3), nn.LeakyReLU(0.2), nn.Conv2d(8, 1, 3))
    network.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(network.parameters())
    scaler = torch.amp.GradScaler("cpu", enabled=scaled, init_scale=256.0)
    for step in range(3):
        optimizer.zero_grad(set_to_none=True)
        loss = network(torch.randn(2, 3, 12, 12)).square().mean()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if step == 1:  # a resume in the middle: the state round-trips
            optimizer.load_state_dict(optimizer.state_dict())
    return [p.detach().clone() for p in network.parameters()], optimizer.state_dict()


def test_the_update_and_state_equal_torchs_fused_adam():
    for scaled in (False, True):
        ours, our_state = train_three_steps(lambda p: fused_adam(p, 2e-3, (0.0, 0.9), compiling=False), scaled)
        theirs, their_state = train_three_steps(lambda p: torch.optim.Adam(p, lr=2e-3, betas=(0.0, 0.9), fused=True),
                                                scaled)
        assert all(torch.equal(a, b) for a, b in zip(ours, theirs))
        assert our_state["state"][0]["step"].item() == 3.0
        for key in ("exp_avg", "exp_avg_sq"):
            assert torch.equal(our_state["state"][0][key], their_state["state"][0][key])
        assert not torch.equal(ours[0], train_three_steps(lambda p: torch.optim.SGD(p, lr=2e-3), scaled)[0][0])
