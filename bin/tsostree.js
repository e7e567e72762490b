#!/usr/bin/env node
// The `tsostree` command for `node bin/tsostree.js` (tests, scripts); bin/tsostree starts tsostree.cjs.
import "./tsostree.cjs";
