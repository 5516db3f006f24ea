export const MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const MODEL_NAME_RULE =
  'must match ^[a-z0-9][a-z0-9._-]{0,63}$: 1-64 characters, lowercase letters, digits, ".", "_" or "-", starting with a letter or digit';

export const TAG_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/=-]{0,63}$/;
export const TAG_RULE = 'each tag must match ^[A-Za-z0-9][A-Za-z0-9._:/=-]{0,63}$';
export const MAX_TAGS = 32;
export const MAX_DESCRIPTION_LENGTH = 2000;
