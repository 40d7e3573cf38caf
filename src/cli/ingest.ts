// npm run ingest -- <positions|fx|ratings|curve|spreads> <file.csv|file.json> [--mode ...] (being implemented).
console.error('npm run ingest is not implemented yet');
process.exit(2);
