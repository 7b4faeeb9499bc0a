# Your own app under naught, in a container. The app keeps naught's release tarball in
# vendor/ (its package.json says "naught": "file:vendor/naught-2.0.0.tgz"; see the README's
# Install section), and package-lock.json pins it. Build from the app's folder with
#   docker build -f app.Dockerfile -t my-app .
#   docker run --init -p 8000:8000 my-app          # --init: see Dockerfile beside this one
ARG NODE_VERSION=24
FROM node:${NODE_VERSION}-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8000
# The dependencies first: a code change rebuilds only the layers below.
COPY package.json package-lock.json ./
COPY vendor ./vendor
RUN npm ci --omit=dev
COPY server.mjs ./
EXPOSE 8000
STOPSIGNAL SIGTERM
# Foreground, one worker per CPU the container may use, every log to the container's
# stdout and stderr. SIGHUP (docker kill -s HUP) deploys the code in the image again.
CMD ["node_modules/.bin/naught", "start", "--daemon-mode", "false", "--worker-count", "auto", "--log", "-", "--stdout", "-", "--stderr", "-", "server.mjs"]
