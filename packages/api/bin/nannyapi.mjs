#!/usr/bin/env node
import '../dist/nannyapi.mjs';
