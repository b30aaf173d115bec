// Files bundled as text by esbuild (tools/build.mjs: loader .xml → text).
declare module '*.xml' {
    const text: string;
    export default text;
}
