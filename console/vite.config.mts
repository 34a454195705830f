import { defineConfig } from "vite";

// The console is built into dist/console/app and served by the service itself (console/server.ts).
export default defineConfig({
  root: import.meta.dirname,
  // Relative asset URLs: the same build works at / and behind a proxy under a sub-path.
  base: "./",
  // JSX without @vitejs/plugin-react: fast refresh is all it would add, and the build needs none.
  oxc: { jsx: { runtime: "automatic" } },
  build: {
    outDir: "../dist/console/app",
    emptyOutDir: true,
    // No source maps in the served bundle, and one CSS file: nothing to fetch lazily.
    sourcemap: false,
    cssCodeSplit: false,
    reportCompressedSize: false,
  },
  server: {
    // `npm run console:dev`: the API of a local `npm start` on port 4000.
    proxy: { "/graphql": { target: "http://127.0.0.1:4000", ws: true } },
  },
});
