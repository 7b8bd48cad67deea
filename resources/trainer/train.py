#!/usr/bin/env python3
"""The workbench's PyTorch trainer: the run configured in Mengzi Workbench, on torchrun/DDP.

  torchrun --nproc-per-node N train.py --job JOB_FOLDER/job.json [--run-dir DIR]

job.json (written by the workbench, engine/launch/job.ts) holds the run config (engine/train/config.ts),
the resolved BERT config, the data (shards or fixed batches) and the initial weights. The loop is the
local engine's (engine/train/loop.ts): MLM (+ NSP/SOP), global-norm clipping, gradient accumulation,
AdamW/LAMB and the warm-up/decay schedule as the workbench computes them. Rank 0 appends one JSON line
per logged step to metrics.jsonl and events (start, resume, checkpoint, done) to events.jsonl, and
writes checkpoints in the workbench's layout. A restarted worker (torchrun --max-restarts) resumes
from the newest checkpoint; a file named STOP in the run folder ends the run after a checkpoint.
"""
import argparse
import contextlib
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

import checkpoints  # noqa: E402
import optim  # noqa: E402
from batches import FixedBatches  # noqa: E402
from modeling import BertForPreTraining, init_weights, load_weights  # noqa: E402
from safetensors_io import load_file  # noqa: E402

# config keys that may change between a run and its resumption (as the local engine)
RESUMABLE_CHANGES = {'name', 'backend', 'logEvery', 'checkpointEvery', 'evalEvery', 'evalBatches', 'engine', 'torch'}


def fail(message):
    """A one-line reason on stderr and in events.jsonl, then a non-zero exit."""
    print(f'mengzi-trainer: {message}', file=sys.stderr, flush=True)
    raise SystemExit(2)


class Log:
    """Appends JSON lines (rank 0 only); every line flushed, so the workbench can tail them."""

    def __init__(self, run_dir, enabled):
        self.enabled = enabled
        self.metrics = self.events = None
        if enabled:
            self.metrics = open(os.path.join(run_dir, 'metrics.jsonl'), 'a', encoding='utf-8')
            self.events = open(os.path.join(run_dir, 'events.jsonl'), 'a', encoding='utf-8')

    def _write(self, f, record):
        if self.enabled:
            f.write(json.dumps({**record, 'wall_time': time.time()}) + '\n')
            f.flush()

    def metric(self, step, values):
        self._write(self.metrics, {'step': step, **values})

    def event(self, kind, **fields):
        self._write(self.events, {'event': kind, **fields})


def setup_distributed(precision, device_option):
    world = int(os.environ.get('WORLD_SIZE', '1'))
    rank = int(os.environ.get('RANK', '0'))
    local_rank = int(os.environ.get('LOCAL_RANK', '0'))
    cuda = torch.cuda.is_available() and device_option != 'cpu'
    if device_option == 'cuda' and not cuda:
        fail(f'torch.device "cuda" but this torch ({torch.__version__}) sees no GPU')
    if precision != 'fp32' and not cuda:
        fail(f'precision {precision} needs CUDA; this torch ({torch.__version__}) sees no GPU')
    device = torch.device('cuda', local_rank) if cuda else torch.device('cpu')
    if cuda:
        torch.cuda.set_device(device)
    if world > 1:
        dist.init_process_group('nccl' if cuda else 'gloo')
    return rank, world, device


def start_deepspeed(model, optimizer, run, precision, stage, per_rank):
    """ZeRO stage 1/2 over our optimizer (AdamW: elementwise, so partitioning it is exact). DeepSpeed
    then owns accumulation (it divides the loss by it), gradient averaging and clipping."""
    try:
        import deepspeed
    except ImportError:
        fail(f'torch.zeroStage {stage} needs DeepSpeed, which this Python ({sys.executable}) cannot import')
    config = {
        'train_micro_batch_size_per_gpu': per_rank,
        'gradient_accumulation_steps': run['gradientAccumulation'],
        'gradient_clipping': run['maxGradNorm'],
        'zero_optimization': {'stage': stage},
        'zero_allow_untested_optimizer': True,
        'fp16': {'enabled': precision == 'fp16'},
        'bf16': {'enabled': precision == 'bf16'},
    }
    engine, _, _, _ = deepspeed.initialize(model=model, optimizer=optimizer, config=config)
    return engine


def check_with_transformers(directory, log):
    """When transformers is importable: its BertForPreTraining loads the final checkpoint (an event says
    which keys it initialised itself, e.g. the pair head of an MLM-only run)."""
    try:
        from transformers import BertForPreTraining as HfBertForPreTraining
    except ImportError:
        return
    _, info = HfBertForPreTraining.from_pretrained(directory, output_loading_info=True)
    log.event('transformers', dir=directory, missing=sorted(info['missing_keys']), unexpected=sorted(info['unexpected_keys']))


OBJECTIVE_ORDER = ('mlm', 'pos', 'ner', 'nsp', 'sop')


def active_objectives(run):
    """engine/train/config.ts activeObjectives: `objectives` plus the older pairObjective, in a fixed order."""
    chosen = set(run.get('objectives') or ['mlm'])
    if run.get('pairObjective', 'none') != 'none':
        chosen.add(run['pairObjective'])
    return [o for o in OBJECTIVE_ORDER if o in chosen]


def target_count(batch, objective):
    key = {'mlm': 'labels'}.get(objective, f'{objective}_labels')
    return int((batch[key] != -100).sum())


def dgc_raw(batch, dgc):
    """docs/dgc.md: per sequence max(floor, (1 - hit/units)^gamma) and its masked-position count."""
    units, hit = batch['units'].double(), batch['units_hit'].double()
    broken = torch.where(units > 0, hit / units.clamp(min=1), torch.zeros_like(units))
    raw = torch.clamp((1 - broken) ** float(dgc.get('gamma', 1)), min=float(dgc.get('floor', 0.1)))
    return raw, (batch['labels'] != -100).sum(1).double()


def dgc_sums(batch, dgc):
    """Σ_b raw_b·masked_b and Σ_b masked_b of this rank's rows (all-reduced: the batch is global)."""
    raw, masked = dgc_raw(batch, dgc)
    return float((raw * masked).sum()), float(masked.sum())


def dgc_row_weights(batch, dgc, sums):
    """Per sequence weight, mean 1 over the global batch's masked positions (engine/train/dgc.ts sequenceWeights)."""
    raw, _ = dgc_raw(batch, dgc)
    weighted, count = float(sums[0]), float(sums[1])
    return (raw * (count / weighted if weighted > 0 else 1.0)).float()


def evaluate(model, dev, run, objectives, device):
    """engine/train/loop.ts evaluate: the first evalBatches batches of the dev split in order, token masking
    from a fixed seed (the same at every evaluation), no dropout; MLM/POS/NE on single segments, NSP/SOP on
    pairs of the same segments; eval/loss/<o> (mean of batch means), eval/acc/<o>, eval/ppl."""
    from shards import seeded
    B = run['batchSize']
    limit = min(dev.split.size, run['evalBatches'] * B)
    out = {}
    model.eval()
    with torch.no_grad():
        for subset in ([o for o in objectives if o not in ('nsp', 'sop')], [o for o in objectives if o in ('nsp', 'sop')]):
            if not subset:
                continue
            g = seeded(run['seed'], 0x65766131)
            totals = {o: [0.0, 0, 0] for o in subset}
            batches = 0
            for start in range(0, limit, B):
                rows = dev.rows(range(start, min(limit, start + B)), g, in_order=True, objectives=subset, whole_word=False)
                batch = {k: v.to(device) for k, v in rows.items()}
                parts = model(batch, objectives=subset)
                for o in subset:
                    n = target_count(batch, o)
                    totals[o][0] += float(parts[o][0]) / max(n, 1)
                    totals[o][1] += int(parts[o][1])
                    totals[o][2] += n
                batches += 1
            for o, (loss, correct, count) in totals.items():
                out[f'eval/loss/{o}'] = loss / batches
                out[f'eval/acc/{o}'] = correct / count if count else 0.0
    model.train()
    if 'eval/loss/mlm' in out:
        out['eval/ppl'] = math.exp(out['eval/loss/mlm'])
    return out


def all_sum(t, world):
    if world > 1:
        dist.all_reduce(t)
    return t


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--job', required=True, help='job.json written by the workbench')
    parser.add_argument('--run-dir', help='where metrics and checkpoints go (default: the job folder)')
    args = parser.parse_args()
    job_dir = os.path.dirname(os.path.abspath(args.job))
    with open(args.job, encoding='utf-8') as f:
        job = json.load(f)
    at = lambda p: p if p is None or os.path.isabs(p) else os.path.join(job_dir, p)
    run_dir = os.path.abspath(args.run_dir or job_dir)
    os.makedirs(run_dir, exist_ok=True)
    run, bert = job['run'], job['model']
    torch_options = run.get('torch') or {}
    precision = torch_options.get('precision', 'fp32')

    rank, world, device = setup_distributed(precision, torch_options.get('device', 'auto'))
    log = Log(run_dir, rank == 0)
    os.makedirs(os.path.join(run_dir, 'ranks'), exist_ok=True)
    with open(os.path.join(run_dir, 'ranks', f'rank-{rank}.pid'), 'w') as f:
        f.write(str(os.getpid()))
    threads = os.environ.get('MENGZI_TORCH_THREADS')
    if threads:
        torch.set_num_threads(int(threads))

    objectives = active_objectives(run)
    pairs = 'nsp' in objectives or 'sop' in objectives
    weights_of = {o: float(run.get('objectiveWeights', {}).get(o, 1)) for o in objectives}
    dgc = run.get('dgc') or {}
    reweight = bool(dgc.get('enabled') and dgc.get('reweight', True) and 'mlm' in objectives)
    accumulation = run['gradientAccumulation']
    total = run['totalSteps']
    data = job['data']
    dev = None  # the dev split, for held-out evaluation
    if data['kind'] == 'fixed':
        source = FixedBatches(at(data['path']), accumulation)
    elif data['kind'] == 'shards':
        from shards import ShardBatches
        source = ShardBatches(at(data['dir']), run, bert, job.get('specials'), objectives=objectives)
        with open(os.path.join(at(data['dir']), 'manifest.json'), encoding='utf-8') as f:
            if (json.load(f)['splits'].get('dev') or {}).get('segments'):
                dev = ShardBatches(at(data['dir']), run, bert, job.get('specials'), split='dev', objectives=objectives)
    else:
        fail(f'job.json: data.kind "{data["kind"]}" is not one of fixed, shards')

    model = BertForPreTraining(bert, objectives)
    if job.get('init'):
        load_weights(model, load_file(at(job['init'])), job['init'])
    else:
        init_weights(model, bert, torch.Generator().manual_seed(run['seed']))
    model.to(device).train()
    optimizer = optim.create(run['optimizer'], model.named_parameters(), beta1=run['beta1'], beta2=run['beta2'], eps=run['eps'], weight_decay=run['weightDecay'])
    lr_at = optim.linear_warmup_decay(run['learningRate'], total, run['warmupRatio'])

    state = {'step': 0, 'dataPosition': 0}
    existing = checkpoints.list_checkpoints(run_dir)
    if existing:
        step, directory = existing[-1]
        saved, weights, moments = checkpoints.load(directory)
        for key in set(saved['config']) | set(run):
            if key not in RESUMABLE_CHANGES and saved['config'].get(key) != run.get(key):
                fail(f'cannot resume from {directory}: config {key} was {json.dumps(saved["config"].get(key))}, now {json.dumps(run.get(key))}')
        load_weights(model, weights, directory)
        optimizer.load_state_tensors(moments, saved['optimizer']['stepCount'])
        state = {'step': saved['step'], 'dataPosition': saved['dataPosition']}
        log.event('resume', step=state['step'], dir=directory, restart=int(os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')))

    zero = int(torch_options.get('zeroStage', 0))
    engine = start_deepspeed(model, optimizer, run, precision, zero, run['batchSize'] // world) if zero else None
    if engine is not None and existing:
        engine.load_checkpoint(os.path.join(run_dir, 'deepspeed'), tag=f'step-{state["step"]:08d}', load_module_strict=False)
    ddp = engine or model
    if world > 1 and engine is None:
        # without NSP/SOP the pooler is never used: DDP must not wait for its gradient
        ddp = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=not pairs)
    amp = precision != 'fp32' and engine is None  # DeepSpeed runs fp16/bf16 itself
    autocast = (lambda: torch.autocast('cuda', dtype=torch.float16 if precision == 'fp16' else torch.bfloat16)) if amp else contextlib.nullcontext
    scaler = torch.cuda.amp.GradScaler() if amp and precision == 'fp16' else None

    log.event('start', torch=torch.__version__, python=sys.version.split()[0], world_size=world, device=str(device),
              backend=dist.get_backend() if world > 1 else None, precision=precision, step=state['step'], total=total,
              parameters=sum(p.numel() for p in model.parameters()))
    stop_file = os.path.join(run_dir, 'STOP')
    keep = job.get('keepCheckpoints', 0)
    vocab = at(job.get('vocab'))
    saved_step = state['step'] if existing else -1

    def save():
        nonlocal saved_step
        if engine is not None:  # ZeRO's partitioned optimizer state, every rank its part
            engine.save_checkpoint(os.path.join(run_dir, 'deepspeed'), tag=f'step-{state["step"]:08d}')
        if rank == 0:
            trainer_state = {'step': state['step'], 'dataPosition': state['dataPosition'], 'engine': 'torch',
                             'optimizer': {'kind': run['optimizer'], 'stepCount': optimizer.step_count}, 'config': run}
            weights = {k: v.float() for k, v in model.state_dict().items()}
            d = checkpoints.save(run_dir, state['step'], bert, weights, optimizer.state_tensors(), trainer_state, vocab, keep)
            log.event('checkpoint', step=state['step'], dir=d)
        if world > 1:
            dist.barrier()
        saved_step = state['step']

    def run_eval():
        if dev is not None and rank == 0:
            log.metric(state['step'], evaluate(model, dev, run, objectives, device))
        if dev is not None and world > 1:
            dist.barrier()

    started, steps_run, stop_requested = time.time(), 0, False
    while state['step'] < total:
        t0 = time.time()
        step = state['step']
        # dropout masks from (seed, step, rank): a resumed run continues the exact curve
        torch.manual_seed((run['seed'] * 1_000_003 + step) * 4099 + rank)
        micro_batches = [{k: v.to(device) for k, v in source.micro_batch(step, m, rank, world).items()} for m in range(accumulation)]
        # per micro-batch and objective: target counts (and DGC's weight sums) over every rank, so each
        # rank's loss is its exact share of the global mean
        local = torch.tensor([[target_count(b, o) for o in objectives] + list(dgc_sums(b, dgc) if reweight else ()) for b in micro_batches], dtype=torch.float64, device=device)
        totals = all_sum(local, world)
        counts = totals[:, :len(objectives)].clamp(min=1)
        # logged: per objective loss and correct, then tokens, stop
        logged = torch.zeros(2 * len(objectives) + 2, dtype=torch.float64, device=device)
        for m, b in enumerate(micro_batches):
            sync = ddp.no_sync if (world > 1 and engine is None and m < accumulation - 1) else contextlib.nullcontext
            row_weights = dgc_row_weights(b, dgc, totals[m, len(objectives):]).to(device) if reweight else None
            with sync():
                with autocast():
                    parts = ddp(b, row_weights)
                summed = 0
                for i, o in enumerate(objectives):
                    ce_sum, correct = parts[o]
                    followed = parts['mlm/weighted'] if (o == 'mlm' and reweight) else ce_sum
                    summed = summed + weights_of[o] * followed / counts[m, i]
                    logged[i] += float(ce_sum) / float(counts[m, i]) / accumulation
                    logged[len(objectives) + i] += float(correct)
                if engine is not None:  # DeepSpeed divides by the accumulation itself and steps at its boundary
                    engine.backward(summed * world)
                    if m == accumulation - 1:
                        for g in optimizer.param_groups:
                            g['lr'] = lr_at(step)
                    engine.step()
                else:
                    # DDP averages gradients over ranks: this rank's share of the global mean, times the world size
                    loss = summed * (world / accumulation)
                    (scaler.scale(loss) if scaler else loss).backward()
            logged[-2] += float(b['attention_mask'].sum())
        if rank == 0 and os.path.exists(stop_file):
            logged[-1] = 1
        logged = all_sum(logged, world)
        lr = lr_at(step)
        if engine is not None:
            grad_norm = float(engine.get_global_grad_norm() or 0.0)
        else:
            if scaler:
                scaler.unscale_(optimizer)
            grad_norm = optim.clip_by_global_norm(model.parameters(), run['maxGradNorm'])
            for g in optimizer.param_groups:
                g['lr'] = lr
            if scaler:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        state['step'] += 1
        state['dataPosition'] += run['batchSize'] * accumulation
        steps_run += 1
        seconds = time.time() - t0
        if state['step'] % run['logEvery'] == 0 or state['step'] == total:
            n = len(objectives)
            values = {'loss': sum(weights_of[o] * float(logged[i]) for i, o in enumerate(objectives)), 'lr': lr, 'grad_norm': grad_norm,
                      'tokens_per_sec': float(logged[-2]) / seconds}
            for i, o in enumerate(objectives):
                values[f'loss/{o}'] = float(logged[i])
                values[f'acc/{o}'] = float(logged[n + i]) / float(totals[:, i].sum()) if float(totals[:, i].sum()) > 0 else 0.0
            log.metric(state['step'], values)
        if run.get('evalEvery', 0) > 0 and state['step'] % run['evalEvery'] == 0 and state['step'] < total:
            run_eval()
        every = run['checkpointEvery']
        if every > 0 and state['step'] % every == 0:
            save()
        if logged[-1] > 0:
            stop_requested = True
            break
    if state['step'] == total and not stop_requested:
        run_eval()
    if saved_step != state['step']:
        save()
    if rank == 0 and not (state['step'] < total):
        check_with_transformers(checkpoints.list_checkpoints(run_dir)[-1][1], log)
    stopped = state['step'] < total
    log.event('done', step=state['step'], stopped=stopped, seconds=time.time() - started, steps=steps_run)
    if world > 1:
        dist.destroy_process_group()


if __name__ == '__main__':
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:  # one line for the workbench, the traceback for the log
        import traceback
        traceback.print_exc()
        fail(f'{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""}')
