{
  "targets": [
    {
      "target_name": "tsostree_native",
      "sources": ["tsostree_native.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
