/** Every channel type, once. A new type is a file in this folder plus one line here. */
import type { ChannelType, Notifier } from '../types.ts';
import { discord } from './discord.ts';
import { email } from './email.ts';
import { gotify } from './gotify.ts';
import { ntfy } from './ntfy.ts';
import { slack } from './slack.ts';
import { webhook } from './webhook.ts';

export const NOTIFIERS: Readonly<Record<ChannelType, Notifier>> = {
  webhook,
  slack,
  discord,
  ntfy,
  gotify,
  email,
};
