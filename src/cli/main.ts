// The `bosun` command.
import { crdsCommand } from './crds.ts';
import { demoCommand } from './demo.ts';
import { devCommand } from './dev.ts';
import { previewCommand } from './preview.ts';
import { runCommand } from './run.ts';
import { serveCommand } from './serve.ts';

const USAGE = `bosun: runs the jobs around your Kubernetes workloads

usage:
  bosun run [flags]                    run the operator against the current kubeconfig (bosun run --help)
  bosun serve [flags]                  the previews' REST API, webhooks and UI on their own (bosun serve --help)
  bosun crds                           print every CRD as YAML (bosun crds | kubectl apply -f -)
  bosun dev up|env|status|nodes|down   a local Kubernetes control plane (see bosun dev help)
  bosun demo                           start the local cluster and show Bosun at work
  bosun preview list|create|start|stop|reset|undeploy|logs   previews from a terminal (bosun preview help)
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return runCommand(rest);
    case 'serve':
      return serveCommand(rest);
    case 'crds':
      return crdsCommand();
    case 'dev':
      return devCommand(rest);
    case 'demo':
      return demoCommand(rest);
    case 'preview':
      return previewCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`bosun: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bosun: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
