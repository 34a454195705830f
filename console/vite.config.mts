import path from "node:path";
import { defineConfig } from "vite";

// The console and the GraphQL explorer are built into dist/console/app and served by the service
// itself (console/server.ts): two pages, one build.
export default defineConfig({
  root: import.meta.dirname,
  // Relative asset URLs: the same build works at / and behind a proxy under a sub-path.
  base: "./",
  // JSX without @vitejs/plugin-react: fast refresh is all it would add, and the build needs none.
  oxc: { jsx: { runtime: "automatic" } },
  build: {
    outDir: "../dist/console/app",
    emptyOutDir: true,
    // No source maps in the served bundle. CSS per page: GraphiQL's styles must not reach the
    // console's page, nor the console's the explorer's.
    sourcemap: false,
    cssCodeSplit: true,
    reportCompressedSize: false,
    // GraphiQL's chunk is about 0.8 MB: loaded once from the service, then cached as immutable.
    chunkSizeWarningLimit: 1024,
    rolldownOptions: {
      // explorer.html beside index.html: its relative asset URLs then work at /graphql, /explorer
      // and under a proxy's sub-path alike.
      input: {
        console: path.join(import.meta.dirname, "index.html"),
        explorer: path.join(import.meta.dirname, "explorer.html"),
      },
      // GraphiQL's dependencies mark modules "use client" for React Server Components: meaningless
      // in a browser-only bundle, and one warning each.
      onwarn(warning, warn) {
        if (warning.code !== "MODULE_LEVEL_DIRECTIVE") warn(warning);
      },
    },
  },
  server: {
    // `npm run console:dev`: the API of a local `npm start` on port 4000.
    proxy: { "/graphql": { target: "http://127.0.0.1:4000", ws: true } },
  },
});
