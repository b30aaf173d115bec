// Engine CPU benchmark (placeholder being written; see npm run bench:engine).
import system from 'system';
system.exit(1);
