package org.flexidepth4j.tokenizer.template;

import java.util.List;
import java.util.Map;

/** Something a template may call: a macro, a global function, a bound string/dict method. */
@FunctionalInterface
interface PyCallable {
    Object call(List<Object> args, Map<String, Object> kwargs);
}
