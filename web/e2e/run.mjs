// Browser tests of the web client: the real `confab` binary on a random port, Debian's chromium
// driven by playwright-core (see harness.mjs). Screenshots land in web/e2e/screenshots/.
//
//   CONFAB_BIN=path/to/confab node run.mjs        (ONLY=part-of-a-name runs the matching tests;
//                                                  SHOTS=docs refreshes docs/screenshots/)

import { runAll } from "./harness.mjs";
import "./tests/basics.mjs";
import "./tests/names.mjs";
import "./tests/layout.mjs";
import "./tests/state.mjs";
import "./tests/errors.mjs";
import "./tests/keyboard.mjs";
import "./tests/links.mjs";
import "./tests/session.mjs";
import "./tests/routes.mjs";
import "./tests/me.mjs";
import "./tests/groups.mjs";
import "./tests/a11y.mjs";
import "./tests/timeline.mjs";
import "./tests/format.mjs";
import "./tests/files.mjs";
import { stopSite } from "./tests/expression.mjs";
import "./tests/stickers.mjs";
import "./tests/bots.mjs";
import { stopGifProvider } from "./tests/gifs.mjs";
import { embedServerArgs, stopPageServers } from "./tests/embed.mjs";

const failed = await runAll([...embedServerArgs, "--profile-link", "https://game.example/users/{username}"]);
await stopPageServers();
await stopSite();
await stopGifProvider();
process.exit(failed ? 1 : 0);
