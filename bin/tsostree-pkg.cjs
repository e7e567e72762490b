#!/usr/bin/env node
// The `tsostree-pkg` command, as bin/tsostree-pkg (bin/launch) starts it; see bin/run-bundle.cjs.
require("./run-bundle.cjs").runCommand("tsostree-pkg");
