// Who is logged in: {user, uid, write_access, csrf_token}, shared by the pages.
export const session = {user: null, uid: null, write_access: false};

export function canWrite() { return !!session.write_access; }
