{
  "targets": [
    {
      "target_name": "mengzi_native",
      "sources": ["src/addon.c", "src/blas.c", "src/gelu.c", "src/rows.c", "src/parallel.c", "src/attention.c", "src/layer_norm.c", "src/adam.c", "src/softmax_xent.c", "src/transpose.c", "src/dropout.c", "src/dense.c", "src/lac.c"],
      "cflags": ["-O3", "-fno-math-errno", "-ffp-contract=off", "-std=c11"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-fno-math-errno", "-ffp-contract=off", "-std=c11"] },
      "conditions": [["OS=='linux'", { "libraries": ["-ldl", "-lm", "-lpthread"] }]]
    }
  ]
}
