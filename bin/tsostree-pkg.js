#!/usr/bin/env node
// The `tsostree-pkg` command for `node bin/tsostree-pkg.js` (tests, scripts); bin/tsostree-pkg starts tsostree-pkg.cjs.
import "./tsostree-pkg.cjs";
