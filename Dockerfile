FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY console ./console
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# A small young generation and a sized old one keep the heap near what it holds (docs/configuration.md#node-options).
ENV NODE_OPTIONS="--max-semi-space-size=2 --max-old-space-size=256 --expose-gc"
# glibc keeps large buffers mmapped (returned on free) instead of raising the threshold (same section).
# Set here, the process need not re-execute itself to get it (src/boot/allocator.ts).
ENV MALLOC_MMAP_THRESHOLD_=131072
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
EXPOSE 4000
CMD ["node", "dist/src/main.js"]
