import type { Command } from 'commander';
import { resolve } from 'node:path';
import { InputError } from '../../errors.js';
import { checkImageRef } from '../../hooks/hold.js';
import { buildContext, checkIstioVersion, writeContext } from '../../image/context.js';
import { parseVersionLoose } from '../../model/version.js';
import { IMAGE_VARIANTS, type ImageVariant } from '../../image/entrypoint.js';
import { DEFAULT_GRACE_SECONDS, DEFAULT_TERMINATION_DRAIN_SECONDS } from '../../istio/facts.js';
import { formatDuration } from '../../model/duration.js';
import { GRACE_MARGIN_SECONDS, holdTimeoutMs } from '../../plan/budget.js';
import { defaultHoldTimeoutMs } from '../../istio/holds.js';
import { DEFAULT_INTERVAL_MS, DEFAULT_SHELL_IMAGE, DEFAULT_WAIT_FOR } from '../../constants.js';
import { VERSION, type Ctx } from '../context.js';
import { holdFromFlags } from '../../hooks/flags.js';
import { CATALOG } from './catalog.js';

interface ImageOpts {
  istioVersion?: string;
  output?: string;
  waitFor?: string[];
  timeout?: string;
  grace: string;
  drain: string;
  interval?: string;
  variant: string;
  force?: boolean;
  busyboxImage?: string;
}

export function registerImage(program: Command, ctx: Ctx): void {
  program
    .command('image')
    .summary(CATALOG.image.summary)
    .description('write a build context for an istio/proxyv2 image whose entrypoint holds SIGTERM until the app is gone')
    .option('--istio-version <X.Y.Z>', 'Istio version of the base image (required): X.Y.Z or X.Y.Z-suffix')
    .option('-o, --output <dir>', 'directory to write, in a directory that exists (default: ./meshdrain-proxyv2-<istio-version>[-distroless])')
    .option('-w, --wait-for <strategy>', `hold while this says the app is there (repeatable): app-listeners | app-connections | ports=8080,9090 | http=URL | file=/path | sleep=10s (default ${DEFAULT_WAIT_FOR.join(' + ')}, the hold inject writes)`, (v: string, acc: string[] = []) => [...acc, v])
    .option('--timeout <duration>', `give up holding after this long, counted from SIGTERM (default: from --grace, ${formatDuration(defaultHoldTimeoutMs())} for ${DEFAULT_GRACE_SECONDS}s and the default hold)`)
    .option('--grace <duration>', "the pods' terminationGracePeriodSeconds, for the default timeout", `${DEFAULT_GRACE_SECONDS}s`)
    .option('--drain <duration>', "Istio's drain after the hold (terminationDrainDuration)", `${DEFAULT_TERMINATION_DRAIN_SECONDS}s`)
    .option('--interval <duration>', `time between polls (default ${formatDuration(DEFAULT_INTERVAL_MS)})`)
    .option('--variant <variant>', 'base image variant: default | distroless (adds a static busybox shell)', 'default')
    .option('--busybox-image <image>', `distroless only: where the static shell comes from (default ${DEFAULT_SHELL_IMAGE})`)
    .option('--force', 'replace a non-empty output directory')
    .addHelpText(
      'after',
      `
Example:
  meshdrain image --istio-version 1.24.2 -o proxyv2-ctx --wait-for ports=8080 --timeout 40s --grace 50s
  docker build -t registry.example.com/proxyv2:${VERSION}-1.24.2 proxyv2-ctx

Writes Dockerfile, meshdrain-entrypoint and README.md (build, tag, push, point Istio at it).
Prints the directory written on stdout. The hold is the one \`meshdrain hook\` prints (same strategies
and defaults): the timeout defaults to --grace minus a ${GRACE_MARGIN_SECONDS}s margin, minus --drain unless the hold asks
pilot-agent to drain at its start (the default hold does, on Istio 1.21 and later).`,
    )
    .action((o: ImageOpts) => {
      if (!o.istioVersion) throw new InputError('--istio-version is required (e.g. --istio-version 1.24.2)');
      const istioVersion = checkIstioVersion(o.istioVersion);
      if (!IMAGE_VARIANTS.includes(o.variant as ImageVariant)) {
        throw new InputError(`--variant: expected ${IMAGE_VARIANTS.join(' or ')}, got ${JSON.stringify(o.variant)}`);
      }
      const variant = o.variant as ImageVariant;
      if (o.busyboxImage !== undefined) {
        if (variant !== 'distroless') throw new InputError('--busybox-image only applies to --variant distroless');
        checkImageRef(o.busyboxImage, '--busybox-image');
      }
      // The same hold as `meshdrain hook`: one parser, one set of defaults and warnings.
      const { hold, graceSeconds } = holdFromFlags(
        { waitFor: o.waitFor, timeout: o.timeout, grace: o.grace, drain: o.drain, interval: o.interval },
        (m) => ctx.io.stderr(`meshdrain: warning: ${m}\n`),
        parseVersionLoose(istioVersion) ?? undefined,
      );
      const files = buildContext({
        istioVersion,
        variant,
        hold,
        graceSeconds,
        meshdrainVersion: VERSION,
        busyboxImage: o.busyboxImage,
      });
      const dir = o.output ?? `meshdrain-proxyv2-${istioVersion}${variant === 'distroless' ? '-distroless' : ''}`;
      const written = writeContext(resolve(ctx.io.cwd, dir), files, Boolean(o.force), dir);
      ctx.io.stderr(`meshdrain image: wrote ${files.map((f) => f.name).join(', ')} to ${written}\n`);
      ctx.io.stdout(`${written}\n`);
    });
}
