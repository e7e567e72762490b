{
  "targets": [
    {
      "target_name": "tsostree_native",
      "sources": ["tsostree_native.c", "checkout_ops.c", "checkout_run.c", "checkout_tree.c", "copy_tree.c", "diff_tree.c", "object_job.c", "inflate_hash.c", "assemble.c", "bspatch.c", "remove_tree.c", "decoder.c", "encoder.c"],
      "libraries": ["-llzma", "-lzstd"],
      "cflags": ["-O2", "-Wall", "-ftree-vectorize"]
    }
  ]
}
