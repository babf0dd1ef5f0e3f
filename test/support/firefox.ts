import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

/**
 * Debian's firefox-esr driven over WebDriver BiDi, the W3C protocol Firefox speaks natively. playwright-core cannot
 * drive it: its Firefox support needs Playwright's patched build (a download), and its BiDi mode sends a command
 * (`emulation.setMediaFeaturesOverride`) that Firefox ESR refuses. So this is a small client of our own for the
 * few commands a page test needs: navigate, evaluate, set the viewport, and real pointer and keyboard input.
 */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

/** Installs firefox-esr when it is missing and we may (scripts/ensure-firefox.sh); the reason it is unavailable. */
export function firefoxUnavailableReason(): string | undefined {
  if (fs.existsSync(FIREFOX_PATH)) return undefined;
  const result = spawnSync('sh', [path.join(REPO_ROOT, 'scripts/ensure-firefox.sh')], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (fs.existsSync(FIREFOX_PATH)) return undefined;
  const reason = `firefox-esr is not available at ${FIREFOX_PATH}: ${(result.stderr || result.stdout || 'ensure-firefox.sh failed').trim()}`;
  if (process.env.CI === 'true') throw new Error(reason);
  return reason;
}

interface BidiMessage {
  id?: number;
  type?: string;
  result?: unknown;
  error?: string;
  message?: string;
}

/** Commands over one WebSocket, each answered by the message carrying its id. */
class BidiConnection {
  private nextId = 1;
  private readonly waiting = new Map<number, (message: BidiMessage) => void>();

  constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as BidiMessage;
      if (message.id === undefined) return;
      this.waiting.get(message.id)?.(message);
      this.waiting.delete(message.id);
    });
  }

  async send<T>(method: string, params: Record<string, unknown>): Promise<T> {
    const id = this.nextId++;
    const answer = new Promise<BidiMessage>((resolve) => this.waiting.set(id, resolve));
    this.socket.send(JSON.stringify({ id, method, params }));
    const message = await answer;
    if (message.type === 'error') throw new Error(`${method}: ${message.error}: ${message.message}`);
    return message.result as T;
  }
}

/** Functions every evaluated expression may use to find elements the way a person does: by text or by label. */
const FINDERS = `
const byText = (selector, text) => [...document.querySelectorAll(selector)].find((e) => e.textContent.trim() === text);
const byLabel = (text) => {
  const label = [...document.querySelectorAll('label')].find((l) => l.textContent.replace(/\\s*\\*$/, '').trim() === text);
  if (!label) return undefined;
  return label.htmlFor ? document.getElementById(label.htmlFor) : label.querySelector('input, textarea, select');
};`;

export interface FirefoxPage {
  goto(url: string): Promise<void>;
  /** The JSON value of `expression`, evaluated in the page with `byText` and `byLabel` in scope. */
  evaluate<T>(expression: string): Promise<T>;
  /** Waits until `expression` is truthy; fails with the page's text after `timeoutMs`. */
  waitFor(expression: string, what: string, timeoutMs?: number): Promise<void>;
  /** A real mouse click at the centre of the element `expression` finds. */
  click(expression: string): Promise<void>;
  /** Clicks the field `expression` finds and types `text` with real key presses. */
  type(expression: string, text: string): Promise<void>;
  setViewport(width: number, height: number): Promise<void>;
}

export interface LaunchedFirefox {
  version: string;
  page: FirefoxPage;
  close(): Promise<void>;
}

function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      const found = /WebDriver BiDi listening on (ws:\/\/\S+)/.exec(seen);
      if (found?.[1] !== undefined) resolve(found[1]);
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`firefox exited (${code}) before listening: ${seen}`)));
  });
}

function pageOf(bidi: BidiConnection, context: string): FirefoxPage {
  const evaluate = async <T>(expression: string): Promise<T> => {
    const answer = await bidi.send<{
      type: string;
      result?: { value?: string };
      exceptionDetails?: { text?: string };
    }>('script.evaluate', {
      expression: `(() => { ${FINDERS}\n return JSON.stringify((${expression}) ?? null); })()`,
      target: { context },
      awaitPromise: true,
    });
    if (answer.type !== 'success') throw new Error(`evaluate failed: ${answer.exceptionDetails?.text}`);
    return JSON.parse(answer.result?.value ?? 'null') as T;
  };
  const waitFor = async (expression: string, what: string, timeoutMs = 15_000): Promise<void> => {
    const until = Date.now() + timeoutMs;
    while (!(await evaluate<boolean>(`Boolean(${expression})`))) {
      if (Date.now() > until) {
        const text = await evaluate<string>('document.body.innerText.slice(0, 1500)');
        throw new Error(`${what} never showed; the page said:\n${text}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const click = async (expression: string): Promise<void> => {
    await waitFor(expression, `the element ${expression}`);
    const centre = await evaluate<{ x: number; y: number }>(`(() => {
      const element = ${expression};
      element.scrollIntoView({ block: 'center' });
      const box = element.getBoundingClientRect();
      return { x: Math.round(box.x + box.width / 2), y: Math.round(box.y + box.height / 2) };
    })()`);
    await bidi.send('input.performActions', {
      context,
      actions: [
        {
          type: 'pointer',
          id: 'mouse',
          parameters: { pointerType: 'mouse' },
          actions: [
            { type: 'pointerMove', x: centre.x, y: centre.y },
            { type: 'pointerDown', button: 0 },
            { type: 'pointerUp', button: 0 },
          ],
        },
      ],
    });
  };
  const pressKeys = async (text: string): Promise<void> => {
    const keys = [...text].flatMap((value) => [
      { type: 'keyDown', value },
      { type: 'keyUp', value },
    ]);
    await bidi.send('input.performActions', {
      context,
      actions: [{ type: 'key', id: 'keyboard', actions: keys }],
    });
  };
  // A field in an opening dialog can still be moving when clicked, and the keys then go elsewhere: the field is
  // focused with its text selected (so typing replaces it), and the typing is checked and tried again if lost.
  const type = async (expression: string, text: string): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      await click(expression);
      await evaluate(
        `(() => { const field = ${expression}; field.focus(); field.select(); return true; })()`,
      );
      await pressKeys(text);
      if (await evaluate<boolean>(`${expression}.value === ${JSON.stringify(text)}`)) return;
      if (attempt >= 3) throw new Error(`typing into ${expression} did not take`);
    }
  };
  return {
    goto: async (url) => {
      await bidi.send('browsingContext.navigate', { context, url, wait: 'complete' });
    },
    evaluate,
    waitFor,
    click,
    type,
    setViewport: async (width, height) => {
      await bidi.send('browsingContext.setViewport', { context, viewport: { width, height } });
    },
  };
}

/** Headless firefox-esr with a fresh profile, one session and its first tab. */
export async function launchFirefox(): Promise<LaunchedFirefox> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-firefox-'));
  const child = spawn(
    FIREFOX_PATH,
    ['--headless', '--no-remote', '--remote-debugging-port=0', '--profile', profile, 'about:blank'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MOZ_HEADLESS: '1' } },
  );
  const stopped = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    child.kill('SIGTERM');
    await stopped;
    fs.rmSync(profile, { recursive: true, force: true });
  };
  try {
    const url = await listeningUrl(child);
    const socket = new WebSocket(`${url}/session`);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const bidi = new BidiConnection(socket);
    const session = await bidi.send<{ capabilities: { browserVersion: string } }>('session.new', {
      capabilities: {},
    });
    const tree = await bidi.send<{ contexts: Array<{ context: string }> }>('browsingContext.getTree', {});
    const context = tree.contexts[0]?.context;
    if (context === undefined) throw new Error('firefox opened no tab');
    return {
      version: session.capabilities.browserVersion,
      page: pageOf(bidi, context),
      close: async () => {
        socket.close();
        await close();
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}
