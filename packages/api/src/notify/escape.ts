/**
 * Text from the fleet (guest, node and cluster names inside a summary) is attacker-controlled: an
 * agent or a guest owner picks it. Each chat platform reads its own markup, so each gets its own
 * escaping; the aim is that a name can neither ping people nor show a link whose target is hidden.
 */

/** Control characters (newlines included) would start new header lines or fake extra lines. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const oneLine = (s: string): string => s.replace(/[\u0000-\u001f\u007f]+/g, ' ');

/**
 * Slack mrkdwn: `<…>` is the only way to write a mention (`<!channel>`, `<@U…>`) or a labelled link
 * (`<http://x|label>`), and Slack asks for exactly these three characters as entities.
 */
export const slackText = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Discord markdown: a backslash makes any of these literal. `[`/`]`/`(`/`)` are masked links, `<…>`
 * mentions and channel links, `@everyone`/`@here` mass pings, `:` breaks URL auto-linking and
 * emoji codes. The message also carries `allowed_mentions: {parse: []}`, so nothing pings even if
 * a form is missed here.
 */
export const discordText = (s: string): string => s.replace(/[\\*_~`|<>[\]()#@:]/g, '\\$&');
