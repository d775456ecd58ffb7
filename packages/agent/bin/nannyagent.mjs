#!/usr/bin/env node
import '../dist/nannyagent.mjs';
