#!/usr/bin/env node
import "../dist/src/cli/tsostree-pkg.js";
