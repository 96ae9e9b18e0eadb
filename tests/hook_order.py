"""The order in which a forward pass reaches the hooks, measured with torch's own module hooks."""
import torch

from model.hooks import HookPoint, capturing


def torch_hook_order(model) -> list[str]:
    """The order in which torch itself calls the HookPoint modules (nn.Module forward hooks, independent of our
    capture), on a forward run inside a capture so that display-only hooks (hook_probs) run too."""
    order: list[str] = []
    handles = [m.register_forward_hook(lambda mod, _i, _o: order.append(mod.name) if mod.name not in order else None)
               for m in model.modules() if isinstance(m, HookPoint)]
    tokens = torch.randint(0, model.cfg.vocab_size, (1, 5))
    try:
        with torch.inference_mode(), capturing():
            model(tokens, tokens) if model.arch == "encoder_decoder" else model(tokens)
    finally:
        for h in handles:
            h.remove()
    return order
