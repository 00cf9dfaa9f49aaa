#!/usr/bin/python3
"""Exports PyTorch / torchvision architectures (random weights, fixed seed)
to ONNX in the backend-test layout, with PyTorch's own outputs as the
reference: models nobody on the project wrote, checked end to end.

Usage: torch_models.py OUTDIR [NAME ...]    (needs Debian's python3-torch,
python3-torchvision; nothing is downloaded)
       torch_models.py --train OUTDIR [NAME ...]

--train exports the same architectures for memc's train step instead (as
../shared/acceptance/train_ref.py does; scripts/train_common.py): eval mode,
opset 14, no constant folding, TrainingMode.PRESERVE, every parameter
trainable (NAME_bn_train: the model in training mode, exported with
TrainingMode.TRAINING, so BatchNormalization normalizes by batch statistics
and updates its running ones); a loss on the output (cross-entropy for the classifiers, mse
against random targets for the rest), SGD with momentum or AdamW, and
PyTorch's loss at each of STEPS steps in ref_losses.txt. OUTDIR/NAME holds
model.onnx, trainable.txt, memc_flags.txt, test_data_set_K/, ref_losses.txt.
"""
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_common  # noqa: E402

torch.manual_seed(0)


def encoder_layer():
    m = torch.nn.TransformerEncoderLayer(d_model=128, nhead=4, dim_feedforward=256,
                                         dropout=0.0, batch_first=True)
    return m, (torch.randn(2, 64, 128),)


class Mha(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = torch.nn.MultiheadAttention(128, 8, batch_first=True)

    def forward(self, x):
        return self.attn(x, x, x, need_weights=False)[0]


class CausalDecoder(torch.nn.Module):
    """A GPT-style block written the way people write them in PyTorch."""
    def __init__(self, d=128, heads=4, seq=64, mask_in_forward=False):
        super().__init__()
        self.mask_in_forward = mask_in_forward
        self.ln1, self.ln2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        self.qkv, self.proj = torch.nn.Linear(d, 3 * d), torch.nn.Linear(d, d)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(d, 4 * d), torch.nn.GELU(),
                                       torch.nn.Linear(4 * d, d))
        self.heads = heads
        self.register_buffer("mask", torch.tril(torch.ones(seq, seq)).bool())

    def forward(self, x):
        b, s, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (t.view(b, s, self.heads, d // self.heads).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / (d // self.heads) ** 0.5
        # Either the registered buffer, or (as many GPT ports do) the
        # triangle built in forward(), which exports as Trilu of a constant.
        keep = (torch.tril(torch.ones(s, s)).bool() if self.mask_in_forward
                else self.mask[:s, :s])
        att = att.masked_fill(~keep, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(b, s, d)
        x = x + self.proj(y)
        return x + self.mlp(self.ln2(x))


def vit_tiny(tv):
    m = tv.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=4,
                             hidden_dim=64, mlp_dim=128)
    # torchvision zero-initializes the head: the output would be all zeros.
    torch.nn.init.normal_(m.heads.head.weight, std=0.5)
    return m


def models():
    import torchvision.models as tv
    return {
        "resnet18": lambda: (tv.resnet18(weights=None), (torch.randn(1, 3, 64, 64),)),
        "mobilenet_v2": lambda: (tv.mobilenet_v2(weights=None), (torch.randn(1, 3, 64, 64),)),
        "squeezenet": lambda: (tv.squeezenet1_1(weights=None), (torch.randn(1, 3, 64, 64),)),
        "vit_tiny": lambda: (vit_tiny(tv), (torch.randn(1, 3, 32, 32),)),
        "encoder_layer": encoder_layer,
        "mha": lambda: (Mha(), (torch.randn(1, 256, 128),)),
        # Long enough that the unfused N x N scores (8 heads x 2048^2 floats,
        # 128 MiB) dwarf everything else: FuseMax's case.
        "mha_long": lambda: (Mha(), (torch.randn(1, 2048, 128),)),
        "causal_decoder": lambda: (CausalDecoder(), (torch.randn(1, 64, 128),)),
        "causal_decoder_tril": lambda: (CausalDecoder(mask_in_forward=True),
                                        (torch.randn(1, 64, 128),)),
    }


def export(outdir, name, make):
    model, inputs = make()
    model.eval()
    d = os.path.join(outdir, name)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    with torch.no_grad():
        out = model(*inputs)
    # Exported with autograd on: in eval mode under no_grad, PyTorch 1.13
    # takes its fused attention fast path, which has no ONNX export.
    torch.onnx.export(model, inputs, os.path.join(d, "model.onnx"), opset_version=14,
                      do_constant_folding=True)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    for kind, arrays in (("input", inputs), ("output", outs)):
        for i, a in enumerate(arrays):
            t = numpy_helper.from_array(a.detach().numpy().astype(np.float32))
            with open(os.path.join(d, "test_data_set_0", f"{kind}_{i}.pb"), "wb") as f:
                f.write(t.SerializeToString())
    onnx.checker.check_model(os.path.join(d, "model.onnx"))
    return d


# The train step of each model: loss on the output, optimizer, learning
# rate, batch (None: the inference inputs' shape). Classifier heads take
# cross-entropy against random classes; the rest mse against random targets
# of the output's scale. The learning rates are chosen so that 4 steps move
# the loss by over 1e-2 from the untrained parameters' (10x the tolerance;
# train_compare.py prints it), so that matching losses check the gradients.
STEPS = 4
TRAIN = {
    "resnet18": ("cross-entropy", "momentum", 0.01, 2),
    # BatchNormalization in training mode (exported with
    # TrainingMode.TRAINING: batch statistics, running-statistic updates).
    "resnet18_bn_train": ("cross-entropy", "momentum", 0.002, 4),
    "mobilenet_v2": ("cross-entropy", "adamw", 0.01, 2),
    "squeezenet": ("cross-entropy", "nesterov", 0.01, 2),
    "vit_tiny": ("cross-entropy", "momentum", 0.01, 2),
    "encoder_layer": ("mse", "adamw", 0.01, None),
    "mha": ("mse", "adamw", 1e-3, None),
    "mha_long": ("mse", "adamw", 1e-3, None),
    "causal_decoder": ("mse", "adamw", 1e-3, None),
    "causal_decoder_tril": ("mse", "momentum", 0.5, None),
}


def export_train(outdir, name, make):
    loss, opt_kind, lr, batch = TRAIN[name]
    training = name.endswith("_bn_train")
    torch.manual_seed(0)
    model, inputs = make()
    train_common.prepare(model)
    if training:
        model.train()
    g = torch.Generator().manual_seed(3)
    shapes = [((batch,) + tuple(x.shape[1:])) if batch else tuple(x.shape) for x in inputs]
    with torch.no_grad():
        out = model(*[torch.randn(s, generator=g) for s in shapes])
        scale = out.std().item()
    batches = []
    for _ in range(STEPS):
        ins = [torch.randn(s, generator=g) for s in shapes]
        if loss == "cross-entropy":
            labels = torch.randint(0, out.shape[-1], tuple(out.shape[:-1]), generator=g)
        else:
            labels = torch.randn(tuple(out.shape), generator=g) * scale
        batches.append((ins, labels))
    d = os.path.join(outdir, name)
    wd = 0.01 if opt_kind == "adamw" else 5e-4
    opt = train_common.export(d, model, batches, loss, opt_kind, lr, wd,
                              training=training)
    onnx.checker.check_model(os.path.join(d, "model.onnx"))
    train_common.reference(d, model, batches, loss, opt)
    return d


if __name__ == "__main__":
    args = sys.argv[1:]
    train = args[:1] == ["--train"]
    if train:
        args = args[1:]
    outdir = args[0]
    table = models()
    for name in args[1:] or (TRAIN if train else table):
        make = table[name.removesuffix("_bn_train")]
        print(export_train(outdir, name, make) if train else export(outdir, name, make))
