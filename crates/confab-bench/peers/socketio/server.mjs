// The Socket.IO peer of confab-bench: chat routing as a hand-rolled Socket.IO app does it, and
// nothing more. Each client names, in its connect payload, the room it listens on (its own for
// direct messages, its group's for fan-out); an `m` event `[room, body]` is relayed to every
// other socket in that room. Nothing is stored, authenticated or acknowledged, like NATS core:
// it shows what a single Node.js process with Socket.IO costs for the same traffic.
//
// Usage: node server.mjs <port>   (listens on 127.0.0.1; prints "listening" once it does)

import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: node server.mjs <port>");
  process.exit(2);
}

const http = createServer();
const io = new Server(http, {
  transports: ["websocket"], // the bench speaks the WebSocket transport only, no polling
  perMessageDeflate: false,
  serveClient: false,
});

io.on("connection", (socket) => {
  const listen = socket.handshake.auth?.listen;
  if (typeof listen !== "string" || listen.length === 0) {
    socket.disconnect(true);
    return;
  }
  socket.join(listen);
  socket.on("m", (room, body) => {
    if (typeof room === "string" && typeof body === "string") {
      socket.to(room).emit("m", body);
    }
  });
});

http.listen(port, "127.0.0.1", () => console.log("listening"));
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => process.exit(0));
}
