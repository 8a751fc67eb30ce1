// What students and teachers do in the classroom hub, done in headless Chromium (Debian's) through puppeteer-core
// (npm; it drives the installed browser, it downloads none). Called by scripts/classroom_test.py:
//   node classroom_browser.js student HUB USER PASSWORD CHAPTER OUT OTHER SECRET
//       logs in, opens CHAPTER from their folder, runs all cells, checks the page shows text output, a plot and the
//       first exercise's test message, takes a screenshot; then checks that OTHER's server refuses them, and that a
//       cell in their own kernel cannot read OTHER's folder or the file SECRET (the teacher's solutions)
//   node classroom_browser.js restart HUB USER PASSWORD OUT
//       logs in, starts their (stopped) server with the hub page's button, waits for their folder
//   node classroom_browser.js admin HUB USER PASSWORD OUT NAME...
//       logs in as a teacher, opens the admin page, checks it lists each NAME
// Prints one line per check; exits 1 at the first that fails.
'use strict';
const puppeteer = require('puppeteer-core');

const [mode, hub, user, password, ...rest] = process.argv.slice(2);
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';

function ok(what) { console.log(`  ok: ${user}: ${what}`); }
function fail(what) { console.log(`error: ${user}: ${what}`); process.exit(1); }

async function login(page, next) {
  // Without a next page the hub starts the student's server as they log in (its default); with one it does not.
  await page.goto(`${hub}/hub/login` + (next ? `?next=${encodeURIComponent(next)}` : ''), {waitUntil: 'networkidle2'});
  await page.type('#username_input', user);
  await page.type('#password_input', password);
  await Promise.all([page.waitForNavigation({waitUntil: 'networkidle2', timeout: 120000}), page.click('#login_submit')]);
  if (page.url().includes('/hub/login')) fail(`login refused (${page.url()})`);
  ok(`logged in (${page.url().replace(hub, '')})`);
}

async function waitForKernelIdle(page, timeoutMs) {
  await page.waitForFunction(() => {
    const icon = document.querySelector('#kernel_indicator_icon');
    const busy = [...document.querySelectorAll('.input_prompt')].some(p => p.textContent.includes('[*]'));
    return icon && icon.classList.contains('kernel_idle_icon') && !busy;
  }, {timeout: timeoutMs, polling: 500});
}

async function openNotebook(page, path) {
  await page.goto(`${hub}/user/${user}/notebooks/${path}`, {waitUntil: 'networkidle2', timeout: 120000});
  await page.waitForFunction(() => window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel
      && Jupyter.notebook.kernel.is_connected(), {timeout: 120000, polling: 500});
  await waitForKernelIdle(page, 120000);
  ok(`opened ${path}, Java kernel ready`);
}

/** Runs one new cell at the bottom of the notebook and returns its text output. */
async function runCell(page, code) {
  await page.evaluate(code => {
    const cell = Jupyter.notebook.insert_cell_at_bottom('code');
    cell.set_text(code);
    cell.execute();
  }, code);
  await page.waitForFunction(() => {
    const cells = Jupyter.notebook.get_cells();
    const last = cells[cells.length - 1];
    return last.input_prompt_number !== '*' && last.input_prompt_number !== undefined && last.input_prompt_number !== null;
  }, {timeout: 60000, polling: 300});
  return page.evaluate(() => {
    const cells = Jupyter.notebook.get_cells();
    return cells[cells.length - 1].output_area.outputs
        .map(o => o.text || (o.data && o.data['text/plain']) || (o.ename ? `${o.ename}: ${o.evalue}` : '')).join('');
  });
}

async function student(page, chapter, out, other, secret) {
  await login(page);
  // A login can land on the hub's spawn-pending page while their server is still starting (seen in a CI run on a
  // busy machine: their folder then listed nothing); that page moves on to the server once it answers.
  await page.waitForFunction(u => location.pathname.startsWith(`/user/${u}/`), {timeout: 120000, polling: 500}, user);
  await page.goto(`${hub}/user/${user}/tree/chapters`, {waitUntil: 'networkidle2'});
  const listed = await page.$$eval('#notebook_list .item_link', a => a.map(x => x.textContent.trim()));
  if (!listed.some(n => n.startsWith(chapter))) fail(`${chapter} is not in their chapters/ (listed: ${listed.join(', ')})`);
  ok(`their chapters/ lists ${listed.length} entries, ${chapter} among them`);
  await openNotebook(page, `chapters/${chapter}.ipynb`);
  const started = Date.now();
  // Cell > All Output > Clear, then Cell > Run All: what is checked below was made now, not saved before.
  await page.evaluate(() => { Jupyter.notebook.clear_all_output(); Jupyter.notebook.execute_all_cells(); });
  await page.waitForFunction(() => [...document.querySelectorAll('.input_prompt')].some(p => p.textContent.includes('[*]')),
      {timeout: 30000, polling: 200}).catch(() => {});
  await waitForKernelIdle(page, 600000);
  ok(`Run All finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const text = await page.$$eval('.output_subarea.output_text', e => e.map(x => x.textContent).join('\n'));
  const plots = await page.$$eval('.output_png img, .output_subarea img', e => e.filter(i => i.src.startsWith('data:image/png')).length);
  if (!text.includes('vocab_size = 65')) fail('no text output "vocab_size = 65" on the page');
  ok('text output on the page ("vocab_size = 65")');
  if (plots < 1) fail('no plot on the page');
  ok(`${plots} plot(s) on the page`);
  if (!text.includes('4.1: zeroLoss is not set yet')) fail("the first exercise's test message is not on the page");
  ok('the first exercise\'s test says what to do ("4.1: zeroLoss is not set yet")');
  await page.evaluate(() => document.querySelector('.output_subarea img').scrollIntoView({block: 'center'}));
  await page.screenshot({path: `${out}/${user}-${chapter}.png`, fullPage: false});
  ok(`screenshot ${out}/${user}-${chapter}.png`);

  // Another student's server: the hub's proxy routes the request there, and that server refuses this user.
  const text403 = 'You do not have permission to access Server';
  const resp = await page.goto(`${hub}/user/${other}/tree`, {waitUntil: 'domcontentloaded'});
  const body = await page.content();
  if (resp.status() !== 403 || !body.includes(text403)) fail(`${other}'s server answered ${resp.status()}, not 403`);
  ok(`${other}'s server refuses them (403, "${text403} at /user/${other}/")`);
  await page.screenshot({path: `${out}/${user}-refused-by-${other}.png`});
  const api = await page.goto(`${hub}/user/${other}/api/contents/chapters`, {waitUntil: 'domcontentloaded'});
  if (api.status() !== 403) fail(`${other}'s contents API answered ${api.status()}, not 403`);
  ok(`${other}'s contents API refuses them (403)`);

  // From inside their own kernel (Java code runs as their account): the operating system keeps the rest out.
  await openNotebook(page, `chapters/${chapter}.ipynb`);
  for (const [what, path] of [[`${other}'s folder`, `/home/${other}/gpt/chapters`], ['the solutions', secret]]) {
    const said = await runCell(page, `String seen;
try { seen = java.nio.file.Files.isDirectory(java.nio.file.Path.of("${path}"))
        ? java.nio.file.Files.list(java.nio.file.Path.of("${path}")).toList().toString()
        : java.nio.file.Files.readString(java.nio.file.Path.of("${path}")).substring(0, 40); }
catch (java.io.IOException e) { seen = "refused: " + e; }
System.out.println(seen);`);
    if (!said.includes('refused: java.nio.file.AccessDeniedException')) fail(`their kernel read ${what} (${path}): ${said.slice(0, 200)}`);
    ok(`their kernel cannot read ${what}: ${said.trim().slice(0, 90)}`);
  }
  // Leave the notebook as it was (the test cells added above are not saved).
  await page.evaluate(() => { Jupyter.notebook.set_dirty(false); });
}

async function restart(page, out) {
  await login(page, '/hub/home');
  await page.goto(`${hub}/hub/home`, {waitUntil: 'networkidle2'});
  const start = await page.$('#start');
  if (!start) fail('the hub page has no "Start My Server" button');
  const label = (await page.evaluate(e => e.textContent, start)).replace(/\s+/g, ' ').trim();
  if (!/start/i.test(label)) fail(`the hub page's button says "${label}": is their server still marked running?`);
  await page.screenshot({path: `${out}/${user}-hub-home.png`});
  await Promise.all([page.waitForNavigation({waitUntil: 'networkidle2', timeout: 120000}), start.click()]);
  await page.waitForFunction(u => location.pathname.startsWith(`/user/${u}/tree`), {timeout: 120000, polling: 500}, user);
  ok(`"${label}" on the hub page started their server again (${page.url().replace(hub, '')})`);
}

async function admin(page, out, names) {
  await login(page, '/hub/admin');
  await page.goto(`${hub}/hub/admin`, {waitUntil: 'networkidle2'});
  await page.waitForFunction(n => n.every(x => document.body.innerText.includes(x)), {timeout: 30000, polling: 500}, names)
      .catch(() => fail(`the admin page does not list ${names.join(', ')}`));
  ok(`the admin page lists ${names.length} students`);
  await page.screenshot({path: `${out}/${user}-admin.png`, fullPage: true});
}

(async () => {
  const browser = await puppeteer.launch({executablePath: chromium, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--window-size=1280,1600']});
  try {
    const page = await browser.newPage();
    await page.setViewport({width: 1280, height: 1600});
    page.setDefaultTimeout(120000);
    page.on('dialog', d => d.accept());   // "leave the page with unsaved changes?": yes (nothing here is kept)
    if (mode === 'student') await student(page, ...rest);
    else if (mode === 'restart') await restart(page, ...rest);
    else if (mode === 'admin') await admin(page, rest[0], rest.slice(1));
    else fail(`unknown mode ${mode}`);
  } catch (e) {
    fail(String(e && e.stack || e).split('\n').slice(0, 3).join(' | '));
  } finally {
    await browser.close();
  }
})();
