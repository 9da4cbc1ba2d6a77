// The one class of workerd's `node:async_hooks` (nodejs_compat) the bench worker uses,
// without pulling all of @types/node into the worker's types.
declare module "node:async_hooks" {
  export class AsyncLocalStorage<T> {
    getStore(): T | undefined;
    run<R>(store: T, callback: () => R): R;
  }
}
