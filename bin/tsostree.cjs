#!/usr/bin/env node
// The `tsostree` command, as bin/tsostree (bin/launch) starts it; see bin/run-bundle.cjs.
require("./run-bundle.cjs").runCommand("tsostree");
