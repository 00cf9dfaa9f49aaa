#!/usr/bin/python3
"""PyTorch references for memc's train steps, shared by `make torch-check`
(scripts/torch_models.py --train) and `make bench-train`
(scripts/bench_train.py). The small pieces of the acceptance generator
(../shared/acceptance/train_ref.py) that these need, copied so that the
project does not depend on ../shared: the LM and CNN models, the losses
(class axis last / mse), the optimizers with memc's flag for the same
PyTorch semantics and defaults, the ONNX export for training (opset 14, no
constant folding, TrainingMode.PRESERVE, initializers named after the
parameters), the batches in memc-run --train's layout, and the count of the
bytes autograd saves for backward.
"""
import copy
import math
import os

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper

TEXT = "/usr/share/common-licenses/GPL-3"


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.up, self.down = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        b, t, d = x.shape
        h = self.heads
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.reshape(b, t, h, d // h).transpose(1, 2) for z in (q, k, v))
        s = q @ k.transpose(2, 3) / math.sqrt(d // h)
        s = s + torch.triu(torch.full((t, t), float("-inf")), 1)
        y = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        return x + self.down(F.gelu(self.up(self.ln2(x))))


class LM(nn.Module):
    """Byte-level GPT (train_ref.py's): the labels are the next bytes."""

    def __init__(self, seq, d=64, heads=4, layers=2, vocab=256):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.randn(1, seq, d) * 0.02)
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, ids):
        x = self.emb(ids) + self.pos
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.ln(x))


class CNN(nn.Module):
    """train_ref.py's CNN (the spatial size is the input's)."""

    def __init__(self):
        super().__init__()
        self.c1, self.bn = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.c2, self.fc = nn.Conv2d(8, 16, 3, padding=1), nn.Linear(16, 10)

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.bn(self.c1(x))), 2)
        return self.fc(torch.relu(self.c2(x)).mean(dim=(2, 3)))


def text_batches(steps, batch, seq, vocab=256):
    data = np.frombuffer(open(TEXT, "rb").read(), dtype=np.uint8).astype(np.int64) % vocab
    rng = np.random.default_rng(7)
    out = []
    for _ in range(steps):
        starts = rng.integers(0, len(data) - seq - 1, batch)
        x = np.stack([data[s:s + seq] for s in starts])
        y = np.stack([data[s + 1:s + seq + 1] for s in starts])
        out.append(([torch.from_numpy(x)], torch.from_numpy(y)))
    return out


def loss_fn(kind, out, labels):
    if kind == "cross-entropy":  # class axis last, mean over positions
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), labels.reshape(-1))
    return F.mse_loss(out, labels)


def optimizer(kind, module, lr, wd):
    """-> torch optimizer, memc's --optimizer value (PyTorch's defaults)."""
    ps = list(module.parameters())
    if kind == "sgd":
        return torch.optim.SGD(ps, lr=lr, weight_decay=wd), f"sgd:lr={lr},weight_decay={wd}"
    if kind == "momentum":
        return (torch.optim.SGD(ps, lr=lr, momentum=0.9, weight_decay=wd),
                f"sgd:lr={lr},momentum=0.9,weight_decay={wd}")
    if kind == "nesterov":
        return (torch.optim.SGD(ps, lr=lr, momentum=0.9, nesterov=True, weight_decay=wd),
                f"sgd:lr={lr},momentum=0.9,nesterov=1,weight_decay={wd}")
    if kind == "adamw":
        return (torch.optim.AdamW(ps, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd),
                f"adamw:lr={lr},beta1=0.9,beta2=0.999,eps=1e-08,weight_decay={wd}")
    raise SystemExit(f"unknown optimizer {kind}")


def state_bytes(opt):
    return sum(t.numel() * t.element_size() for s in opt.state.values() for t in s.values()
               if torch.is_tensor(t) and t.dim() > 0)


def save_pb(path, array):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(np.ascontiguousarray(array)).SerializeToString())


def saved_activation_bytes(module, batch, kind):
    """Bytes of the distinct tensors autograd saves for backward in one step."""
    seen = {}

    def pack(t):
        if t.requires_grad and t.grad_fn is None:  # a parameter, counted apart
            return t
        s = t.storage()
        seen[s.data_ptr()] = s.size() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss_fn(kind, module(*batch[0]), batch[1])
    return sum(seen.values())


def prepare(module):
    """train_ref.py's set-up: eval mode (BatchNorm on its running statistics,
    Dropout off) and parameters nudged apart (the exporter would merge equal
    initializers)."""
    module.eval()
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape) * 0.01)
    return module


def export(outdir, module, batches, loss_kind, opt_kind, lr, wd,
           training=False):
    """Writes OUTDIR/model.onnx, trainable.txt, memc_flags.txt and the
    batches (test_data_set_K: the inputs, then the labels); -> the torch
    optimizer for `module` with the same settings. `training`: the module
    is in training mode and exported so (TrainingMode.TRAINING)."""
    os.makedirs(outdir, exist_ok=True)
    names = [f"in{i}" for i in range(len(batches[0][0]))]
    path = os.path.join(outdir, "model.onnx")
    torch.onnx.export(module, tuple(batches[0][0]), path,
                      opset_version=14, input_names=names, output_names=["out0"],
                      do_constant_folding=False,  # PRESERVE: no Conv+BatchNorm fusion
                      training=torch.onnx.TrainingMode.TRAINING if training
                      else torch.onnx.TrainingMode.PRESERVE)
    inits = {t.name for t in onnx.load(path).graph.initializer}
    trainable = [n for n, _ in module.named_parameters()]
    missing = [n for n in trainable if n not in inits]
    if missing:
        raise SystemExit(f"{outdir}: parameters not found as initializers: {missing}")
    with open(os.path.join(outdir, "trainable.txt"), "w") as f:
        f.write("\n".join(trainable) + "\n")
    opt, flag = optimizer(opt_kind, module, lr, wd)
    with open(os.path.join(outdir, "memc_flags.txt"), "w") as f:
        f.write(f"--train --loss={loss_kind} --optimizer={flag} --trainable=@trainable.txt\n")
    for k, (ins, labels) in enumerate(batches):
        d = os.path.join(outdir, f"test_data_set_{k}")
        os.makedirs(d, exist_ok=True)
        for i, x in enumerate(list(ins) + [labels]):
            save_pb(os.path.join(d, f"input_{i}.pb"), x.numpy())
    return opt


def train_losses(module, batches, loss_kind, opt):
    """The loss at each step (before its update) of `opt` training `module`."""
    losses = []
    for ins, labels in batches:
        opt.zero_grad()
        loss = loss_fn(loss_kind, module(*ins), labels)
        loss.backward()
        losses.append(loss.item())
        opt.step()
    return losses


def reference(outdir, module, batches, loss_kind, opt):
    """PyTorch's loss at each step (before its update) -> ref_losses.txt;
    the same training in float64 -> ref64_losses.txt (the trajectory
    without rounding: where a step's float32 loss is far off it, as when
    a large update doubles the loss, two float32 implementations differ by
    as much; train_compare.py allows for it); the losses of the untrained
    parameters on the same batches -> ref_frozen_losses.txt (how far the
    updates move the loss: a comparison tolerance must be well below it to
    check the gradients at all)."""
    with torch.no_grad():
        frozen = [loss_fn(loss_kind, module(*ins), labels).item() for ins, labels in batches]
    with open(os.path.join(outdir, "ref_frozen_losses.txt"), "w") as f:
        f.write("".join(f"{v:.8g}\n" for v in frozen))
    module64 = copy.deepcopy(module).double()
    opt64 = type(opt)(module64.parameters(), **opt.defaults)
    batches64 = [([x.double() if x.is_floating_point() else x for x in ins],
                  labels.double() if labels.is_floating_point() else labels)
                 for ins, labels in batches]
    losses64 = train_losses(module64, batches64, loss_kind, opt64)
    with open(os.path.join(outdir, "ref64_losses.txt"), "w") as f:
        f.write("".join(f"{v:.17g}\n" for v in losses64))
    losses = train_losses(module, batches, loss_kind, opt)
    with open(os.path.join(outdir, "ref_losses.txt"), "w") as f:
        f.write("".join(f"{v:.8g}\n" for v in losses))
    return losses
