// Placeholder until the repository commands land in this same series of commits.
console.error("tsostree-pkg: no commands yet");
process.exit(2);
