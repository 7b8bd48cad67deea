"""AdamW and LAMB computed exactly as the workbench's engine/train/optimizers.ts does.

Both keep Adam's moments per parameter under PyTorch's names (exp_avg, exp_avg_sq) and one step
count for the whole optimizer (bias corrections use it); a parameter without a gradient is left
alone. Weight decay is 0 for biases and LayerNorm weights, matched by name as HF's Trainer does.
Elementwise AdamW partitions safely (DeepSpeed ZeRO); LAMB's per-tensor trust ratio does not.
"""
import torch


def is_no_decay(name):
    return name.endswith('.bias') or 'LayerNorm.' in name


class AdamFamily(torch.optim.Optimizer):
    def __init__(self, named_parameters, lr=1e-4, beta1=0.9, beta2=0.999, eps=1e-6, weight_decay=0.01):
        named = list(named_parameters)
        self.names = {p: n for n, p in named}
        groups = [{'params': [p], 'name': n, 'weight_decay': 0.0 if is_no_decay(n) else weight_decay} for n, p in named]
        super().__init__(groups, dict(lr=lr, beta1=beta1, beta2=beta2, eps=eps))
        self.step_count = 0

    @torch.no_grad()
    def step(self, closure=None):
        self.step_count += 1
        for group in self.param_groups:
            b1, b2, eps, lr, decay = group['beta1'], group['beta2'], group['eps'], group['lr'], group['weight_decay']
            bc1, bc2 = 1 - b1 ** self.step_count, 1 - b2 ** self.step_count
            for p in group['params']:
                if p.grad is None:
                    continue
                g = p.grad.float()
                state = self.state[p]
                if not state:
                    state['exp_avg'] = torch.zeros_like(p, dtype=torch.float32)
                    state['exp_avg_sq'] = torch.zeros_like(p, dtype=torch.float32)
                m, v = state['exp_avg'], state['exp_avg_sq']
                m.mul_(b1).add_(g * (1 - b1))
                v.mul_(b2).add_(g.square() * (1 - b2))
                p.copy_(self.update(p.float(), m, v, lr, decay, eps, bc1, bc2))

    def state_tensors(self):
        """exp_avg.<name> / exp_avg_sq.<name>, the workbench's optimizer.safetensors keys."""
        out = {}
        for p, n in self.names.items():
            s = self.state.get(p)
            if s:
                out[f'exp_avg.{n}'] = s['exp_avg']
                out[f'exp_avg_sq.{n}'] = s['exp_avg_sq']
        return out

    def load_state_tensors(self, tensors, step_count):
        by_name = {n: p for p, n in self.names.items()}
        for key, t in tensors.items():
            which, _, name = key.partition('.')
            if which not in ('exp_avg', 'exp_avg_sq') or name not in by_name:
                raise ValueError(f'optimizer state: "{key}" names no parameter of the model')
            p = by_name[name]
            if tuple(t.shape) != tuple(p.shape):
                raise ValueError(f'optimizer state: "{key}" has shape {list(t.shape)}, parameter has {list(p.shape)}')
            self.state[p][which] = t.to(device=p.device, dtype=torch.float32).clone()
        self.step_count = step_count


class AdamW(AdamFamily):
    """torch.optim.AdamW: p <- p*(1 - lr*wd) - (lr/bc1) * m / (sqrt(v)/sqrt(bc2) + eps)."""
    kind = 'adamw'

    @staticmethod
    def update(p, m, v, lr, decay, eps, bc1, bc2):
        denom = v.sqrt() / bc2 ** 0.5 + eps
        return p * (1 - lr * decay) - (m / denom) * (lr / bc1)


class Lamb(AdamFamily):
    """LAMB (You et al. 2019, Algorithm 2), one layer = one tensor:
    r = (m/bc1) / (sqrt(v/bc2) + eps), u = r + wd*w, trust = |w|/|u| (1 where either is 0), w <- w - lr*trust*u."""
    kind = 'lamb'

    @staticmethod
    def update(p, m, v, lr, decay, eps, bc1, bc2):
        r = (m / bc1) / ((v / bc2).sqrt() + eps)
        u = r + p * decay if decay != 0 else r
        wn, un = p.square().sum().sqrt(), u.square().sum().sqrt()
        trust = torch.where((wn > 0) & (un > 0), wn / torch.where(un > 0, un, torch.ones_like(un)), torch.ones_like(wn))
        return p - u * (trust * lr)


def create(kind, named_parameters, **options):
    if kind == 'adamw':
        return AdamW(named_parameters, **options)
    if kind == 'lamb':
        return Lamb(named_parameters, **options)
    raise ValueError(f'unknown optimizer "{kind}"; expected "adamw" or "lamb"')


def linear_warmup_decay(peak, total, warmup_ratio):
    """engine/train/schedule.ts: HF's get_linear_schedule_with_warmup, warm-up = ceil(total * ratio).
    1. warm-up: 0 -> peak over `warmup` steps; 2. decay: peak -> 0 at `total`. Step 0 is the first update."""
    import math
    warmup = math.ceil(total * warmup_ratio)

    def lr_at(step):
        if step < warmup:
            return peak * step / max(1, warmup)
        return peak * max(0.0, (total - step) / max(1, total - warmup))
    return lr_at


def clip_by_global_norm(parameters, max_norm):
    """torch.nn.utils.clip_grad_norm_ as the workbench computes it: scale by min(1, max/(|g| + 1e-6)).
    Returns the norm before clipping (a float)."""
    grads = [p.grad for p in parameters if p.grad is not None]
    norm = torch.sqrt(sum(g.float().square().sum() for g in grads))
    if max_norm > 0:
        coef = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
        for g in grads:
            g.mul_(coef.to(g.dtype))
    return float(norm)
