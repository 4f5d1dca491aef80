# One image runs the API, the worker, the all-in-one process or migrations, chosen by command:
#   docker run pushcast npm run start:api | start:worker | start | migrate
FROM node:20-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY apps/api/package.json apps/api/
COPY apps/worker/package.json apps/worker/
COPY apps/pushcast/package.json apps/pushcast/
COPY packages/config/package.json packages/config/
COPY packages/domain/package.json packages/domain/
COPY packages/queues/package.json packages/queues/
COPY packages/runtime/package.json packages/runtime/
COPY packages/store/package.json packages/store/
COPY packages/providers/package.json packages/providers/
COPY packages/local-tls/package.json packages/local-tls/
COPY packages/local-push-service/package.json packages/local-push-service/
COPY packages/local-apns-service/package.json packages/local-apns-service/
COPY packages/local-fcm-service/package.json packages/local-fcm-service/
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY . .
USER node
EXPOSE 8080
CMD ["npm", "start"]
